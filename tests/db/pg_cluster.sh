#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the database tests.
#
#   pg_cluster.sh start DIR [PORT]     create the cluster (first time), start it and
#                                      write its url to DIR/url; PORT defaults to the
#                                      one used before, else a free loopback port;
#                                      also after the server was killed
#   pg_cluster.sh stop DIR [MODE]      stop it, keeping the data (MODE: fast or immediate)
#   pg_cluster.sh destroy DIR          stop it and delete DIR
#
# initdb refuses to run as root: as root the cluster belongs to the `postgres`
# user (DIR is given to it); as anyone else it belongs to the caller. Clients
# connect over TCP to 127.0.0.1 as the superuser `troupe`, without a password.
set -euo pipefail

bin=${TROUPE_PG_BIN:-/usr/lib/postgresql/15/bin}
usage() { echo "usage: $0 start DIR [PORT] | stop DIR [fast|immediate] | destroy DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
dir=$2

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# SO_REUSEADDR as the server sets it: connections of a stopped server linger
# in TIME_WAIT, which does not stop a restart, but a listener does.
port_is_free() {
  python3 -c 'import socket,sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether process $1 has ended: gone, or a zombie nobody reaps.
ended() {
  [ ! -e "/proc/$1/stat" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" = Z ]
}

# A server killed with SIGKILL leaves its lock files (the data folder's
# postmaster.pid, the socket's .lock) naming it. PostgreSQL takes them over
# when that process is gone, but not while it is a zombie, which it stays
# where init does not reap (as in some containers): remove those.
remove_stale_locks() {
  local lock pid
  for lock in "$dir/data/postmaster.pid" "$dir"/.s.PGSQL.*.lock; do
    [ -f "$lock" ] || continue
    pid=$(head -n 1 "$lock")
    if [[ $pid =~ ^[0-9]+$ ]] && ended "$pid"; then rm -f "$lock"; fi
  done
}

running() {
  [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

case $cmd in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -A trust -U troupe -E UTF8 --locale=C --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    port=${3:-$(cat "$dir/port" 2>/dev/null || free_port)}
    if ! port_is_free "$port"; then
      echo "pg_cluster.sh: port $port on 127.0.0.1 is in use" >&2
      exit 1
    fi
    remove_stale_locks
    # fsync off: the data is thrown away, and the tests run faster.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
      || { tail -20 "$dir/log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "postgresql://troupe@127.0.0.1:$port/postgres" >"$dir/url"
    ;;
  stop)
    mode=${3:-fast}
    if running; then as_owner "$bin/pg_ctl" -D "$dir/data" -m "$mode" -w stop >/dev/null; fi
    ;;
  destroy)
    if running; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null; fi
    rm -rf "$dir"
    ;;
  *)
    usage
    ;;
esac
