#!/usr/bin/env bash
# `make bench`: every scenario against every server, the servers alternating
# within each round (A B C D, A B C D) so that drift on a shared machine hits
# all of them alike. Prints a side-by-side table with Troupe's ratios to the
# best raw grpc++ server and to Python, and writes bench/results/<date>.json
# and .svg. Some points run on fewer servers (the db ones on Troupe alone) or
# in one round only (100,000 idle streams take a minute per server).
#
# Environment:
#   BENCH_DURATION  measured seconds per run (default 5; the suite then takes ~14 min)
#   BENCH_WARMUP    seconds before measuring (default 1)
#   BENCH_ROUNDS    rounds of alternation (default 2)
#   BENCH_PIN=1     server on core 0, client on core 1 (taskset)
#   BENCH_SERVERS   subset, e.g. "raw-cq python" (default: troupe raw-cq raw-callback python)
#   BENCH_POINTS    subset of the points below by name, e.g. "unary-c64 db-get-user-c64"
#   BENCH_PG=0      skip the *-pg points (they need PostgreSQL 15 and run it
#                   throw-away with tests/db/pg_cluster.sh)
#   BENCH_BIN       binaries (default build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BENCH_BIN:-build/bin}
duration=${BENCH_DURATION:-5}
warmup=${BENCH_WARMUP:-1}
rounds=${BENCH_ROUNDS:-2}
pin=${BENCH_PIN:-0}
servers=(${BENCH_SERVERS:-troupe raw-cq raw-callback python})
python_peer=../shared/peers/python_aio_server.py
python=/usr/bin/python3

# Each point: a name and troupe-bench's arguments. Concurrency 64 and 1000
# for unary give the QPS / p99 curves; the rest use what shows each kind best.
points=(
  "unary-c64|--scenario unary --concurrency 64 --channels 16"
  "unary-c1000|--scenario unary --concurrency 1000 --channels 16"
  "server-stream-c16|--scenario server-stream --concurrency 16 --channels 16 --stream-messages 100"
  "client-stream-c16|--scenario client-stream --concurrency 16 --channels 16 --stream-messages 100"
  "bidi-pingpong-c64|--scenario bidi --concurrency 64 --channels 16"
  "bidi-pipelined-c16|--scenario bidi --bidi-mode pipelined --window 16 --concurrency 16 --channels 16"
  "mixed-c64|--scenario mixed --concurrency 64 --channels 16"
  "open-streams-5000|--scenario open-streams --concurrency 5000 --channels 10"
  "slow-reader-c4|--scenario slow-reader --concurrency 4 --channels 4 --payload 65536 --read-interval-ms 10"
  "db-get-user-c64|--scenario db --db-method get-user --db-users 1000 --concurrency 64 --channels 16"
  "db-get-user-sync-c64|--scenario db --db-method get-user-sync --db-users 1000 --concurrency 64 --channels 16"
  "db-upload-logs-c16|--scenario db --db-method upload-logs --stream-messages 100 --concurrency 16 --channels 16"
  "db-saturation-c16|--scenario db-saturation --concurrency 16 --channels 16 --db-load 16 --db-ms 50"
  "db-saturation-pg-c16|--scenario db-saturation --concurrency 16 --channels 16 --db-load 16 --db-ms 50"
  "open-streams-100k|--scenario open-streams --concurrency 100000 --channels 100"
)
# Points not every server can run: the demo services and bench-db-ms are
# Troupe's own; 100,000 streams are compared with the faster raw server only.
declare -A point_servers=(
  [db-get-user-c64]=troupe
  [db-get-user-sync-c64]=troupe
  [db-upload-logs-c16]=troupe
  [db-saturation-c16]=troupe
  [db-saturation-pg-c16]=troupe
  [open-streams-100k]="troupe raw-cq"
)
declare -A point_rounds=([open-streams-100k]=1)
# Points compared with each other rather than across servers: the second runs
# right beside the first, round by round (A B, then B A), so that drift hits
# both alike; the report gives their ratio. GetUser as a sync handler
# (troupe::blocking) against the same read written with self.db.
declare -A point_pairs=([db-get-user-c64]=db-get-user-sync-c64)
# Troupe's settings for a point (TROUPE_<SECTION>_<KEY> variables). 100,000
# streams: 100 connections stay within max_concurrent_streams (1000 each), but
# max_inflight (10,000 calls) must be raised.
declare -A troupe_env=([open-streams-100k]="TROUPE_SERVER_MAX_INFLIGHT=110000")
# Seconds a run may take before it is cut off, when more than usual: opening
# and closing 100,000 streams is CPU-bound for client and server alike.
declare -A point_limit=([open-streams-100k]=400)

[[ -x $bin/troupe-bench ]] || { echo "bench: $bin/troupe-bench missing; run 'make build' first" >&2; exit 1; }
bin=$(cd "$bin" && pwd)  # Troupe runs from a folder of its own
[[ -x $python ]] || { echo "bench: $python missing (needed for the report)" >&2; exit 1; }

if [[ -n ${BENCH_POINTS:-} ]]; then
  chosen=()
  for point in "${points[@]}"; do
    if [[ " $BENCH_POINTS " == *" ${point%%|*} "* ]]; then
      chosen+=("$point")
    fi
  done
  ((${#chosen[@]})) || { echo "bench: BENCH_POINTS names no known point" >&2; exit 1; }
  points=("${chosen[@]}")
fi

tmp=$(mktemp -d)
server_pid=
pg_dir=
pg_url=
stop_server() {
  [[ -n $server_pid ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  [[ -z ${server_out:-} ]] || exec {server_out}<&-
}
stop_pg() {
  [[ -z $pg_dir ]] || bash tests/db/pg_cluster.sh destroy "$pg_dir" || true
}
trap 'stop_server; stop_pg; rm -rf "$tmp"' EXIT

# Starts the throw-away PostgreSQL cluster of the *-pg points, once: sets
# pg_url, or pg_problem when it cannot.
pg_problem=
ensure_pg() {
  [[ -z $pg_url && -z $pg_problem ]] || return 0
  if [[ ${BENCH_PG:-1} == 0 ]]; then
    pg_problem="BENCH_PG=0"
  elif [[ ! -x ${TROUPE_PG_BIN:-/usr/lib/postgresql/15/bin}/initdb ]]; then
    pg_problem="PostgreSQL 15 not installed"
  else
    pg_dir=$tmp/pg
    chmod o+x "$tmp"  # the cluster's owner (postgres, when run as root) reaches its folder
    if bash tests/db/pg_cluster.sh start "$pg_dir" >"$tmp/pg.log" 2>&1; then
      pg_url=$(cat "$pg_dir/url")
    else
      pg_problem="PostgreSQL did not start: $(tail -n 1 "$tmp/pg.log")"
    fi
  fi
}

server_prefix=()
client_prefix=()
client_threads=2
if [[ $pin == 1 ]]; then
  server_prefix=(taskset -c 0)
  client_prefix=(taskset -c 1)
  client_threads=1
fi

# Why a server cannot run, or nothing when it can.
unavailable() {
  case $1 in
    troupe) [[ -x $bin/troupe ]] || echo "$bin/troupe not built yet" ;;
    raw-cq) [[ -x $bin/bench-raw-cq ]] || echo "$bin/bench-raw-cq missing" ;;
    raw-callback) [[ -x $bin/bench-raw-callback ]] || echo "$bin/bench-raw-callback missing" ;;
    python) [[ -f $python_peer ]] || echo "$python_peer not found" ;;
    *) echo "unknown server" ;;
  esac
}

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts server $1 for point $2; sets server_pid and server_port once it
# printed its "listening on" line (bounded wait).
start_server() {
  local cmd
  case $1 in
    troupe)
      # A fresh SQLite database each run, so no run inherits another's rows.
      rm -rf "$tmp/troupe"
      mkdir -p "$tmp/troupe/var"
      printf '[server]\nhost = "127.0.0.1"\nport = 0\nbench_service = true\n' >"$tmp/troupe/troupe.toml"
      local settings
      read -r -a settings <<<"${troupe_env[$2]:-}"
      [[ $2 != *-pg* ]] || settings+=("TROUPE_DATABASE_URL=$pg_url")
      cmd=(env "${settings[@]}" "$bin/troupe" serve --config "$tmp/troupe/troupe.toml") ;;
    raw-cq) cmd=("$bin/bench-raw-cq" --host 127.0.0.1 --port 0) ;;
    raw-callback) cmd=("$bin/bench-raw-callback" --host 127.0.0.1 --port 0) ;;
    python) cmd=("$python" "$python_peer" --host 127.0.0.1 --port "$(free_port)") ;;
  esac
  # Troupe runs in a folder of its own: its default database lives under ./var.
  local dir=$PWD
  [[ $1 == troupe ]] && dir=$tmp/troupe
  exec {server_out}< <(cd "$dir" && exec "${server_prefix[@]}" "${cmd[@]}" 2>"$tmp/server.err")
  server_pid=$!
  local line deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)); do
    if ! read -r -t $((deadline - SECONDS)) -u "$server_out" line; then break; fi
    if [[ $line =~ listening\ on\ [^\ ]*:([0-9]+) ]]; then
      server_port=${BASH_REMATCH[1]}
      return 0
    fi
  done
  echo "bench: $1 did not print 'listening on' within 20 s:" >&2
  cat "$tmp/server.err" >&2
  stop_server
  return 1
}

active=()
skipped=()
for s in "${servers[@]}"; do
  why=$(unavailable "$s")
  if [[ -n $why ]]; then
    echo "bench: skipping $s: $why"
    skipped+=("$s=$why")
  else
    active+=("$s")
  fi
done
((${#active[@]})) || { echo "bench: no server to run" >&2; exit 1; }

# The servers of point $1 that are active, in alternation order.
servers_of() {
  local s
  for s in "${active[@]}"; do
    if [[ -z ${point_servers[$1]:-} || " ${point_servers[$1]} " == *" $s "* ]]; then
      echo "$s"
    fi
  done
}
# Rounds of point $1: BENCH_ROUNDS, or fewer where the point says so.
rounds_of() {
  local r=${point_rounds[$1]:-$rounds}
  echo $((r < rounds ? r : rounds))
}

total=0
for point in "${points[@]}"; do
  name=${point%%|*}
  total=$((total + $(servers_of "$name" | wc -l) * $(rounds_of "$name")))
done
echo "bench: ${#points[@]} points, ${#active[@]} servers, up to $rounds rounds = $total runs of ${warmup}+${duration} s"
# A run that hangs is cut off well after it should have ended (durations may be fractional).
client_limit=$(awk -v d="$duration" -v w="$warmup" 'BEGIN { print int(d + w + 120) }')
# Groups of points run together: a point alone, or a pair (both chosen).
declare -A point_args=()
for point in "${points[@]}"; do
  point_args[${point%%|*}]=${point#*|}
done
groups=()
for point in "${points[@]}"; do
  name=${point%%|*}
  led=0
  for lead in "${!point_pairs[@]}"; do
    [[ ${point_pairs[$lead]} == "$name" && -n ${point_args[$lead]:-} ]] && led=1
  done
  ((led)) && continue  # runs beside its lead
  partner=${point_pairs[$name]:-}
  if [[ -n $partner && -n ${point_args[$partner]:-} ]]; then
    groups+=("$name $partner")
  else
    groups+=("$name")
  fi
done
n=0
mkdir -p "$tmp/runs"
for group in "${groups[@]}"; do
  read -r -a group_names <<<"$group"
  lead=${group_names[0]}
  point_active=($(servers_of "$lead"))
  if [[ $lead == *-pg* ]] && ((${#point_active[@]})); then
    ensure_pg
    if [[ -n $pg_problem ]]; then
      echo "bench: skipping $group: $pg_problem"
      for name in "${group_names[@]}"; do
        skipped+=("$name=$pg_problem")
      done
      n=$((n + ${#group_names[@]} * ${#point_active[@]} * $(rounds_of "$lead")))
      continue
    fi
  fi
  for ((round = 1; round <= $(rounds_of "$lead"); round++)); do
    # A pair takes turns going first.
    order=("${group_names[@]}")
    ((round % 2)) || order=($(printf '%s\n' "${group_names[@]}" | tac))
    for name in "${order[@]}"; do
      read -r -a args <<<"${point_args[$name]}"
      point_active=($(servers_of "$name"))
      for s in "${point_active[@]}"; do
        n=$((n + 1))
        out=$tmp/runs/$name@$s@$round.json
        if ! start_server "$s" "$name"; then
          skipped+=("$s=failed to start for $name")
          continue
        fi
        rc=0
        timeout "${point_limit[$name]:-$client_limit}" "${client_prefix[@]}" "$bin/troupe-bench" \
          --target "127.0.0.1:$server_port" --server-pid "$server_pid" --label "$s" \
          --duration "$duration" --warmup "$warmup" --threads "$client_threads" \
          --json "$out" "${args[@]}" >"$tmp/client.log" 2>&1 || rc=$?
        stop_server
        if ((rc != 0)) || [[ ! -f $out ]]; then
          echo "[$n/$total] $name $s round $round: troupe-bench failed (exit $rc):"
          tail -n 5 "$tmp/client.log"
          rm -f "$out"
          continue
        fi
        echo "[$n/$total] $("$python" bench/report.py line "$out")"
      done
    done
  done
done

shopt -s nullglob
runs=("$tmp"/runs/*.json)
((${#runs[@]})) || { echo "bench: no run succeeded" >&2; exit 1; }
mkdir -p bench/results
stamp=$(date +%Y-%m-%dT%H-%M-%S)
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
"$python" bench/report.py summary \
  --out "bench/results/$stamp.json" --svg "bench/results/$stamp.svg" \
  --version "grpc=$(version libgrpc++-dev)" --version "caf=$(version libcaf-dev)" \
  --version "protobuf=$(version libprotobuf-dev)" --version "python3-grpcio=$(version python3-grpcio)" \
  --setting "duration_s=$duration" --setting "warmup_s=$warmup" --setting "rounds=$rounds" \
  --setting "pinned=$pin" --setting "client_threads=$client_threads" \
  "${skipped[@]/#/--skipped=}" "${runs[@]}"
