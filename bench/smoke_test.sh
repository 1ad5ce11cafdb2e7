#!/usr/bin/env bash
# ctest bench_smoke: starts bench-raw-cq on a port the OS picks, runs
# `troupe-bench --smoke` against it, then stops the server with SIGTERM and
# checks that it exits 0. Every wait is bounded.
# Usage: smoke_test.sh SERVER_BINARY TROUPE_BENCH_BINARY
set -euo pipefail

server_bin=$1
client_bin=$2
tmp=$(mktemp -d)
server_pid=

cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "bench_smoke: $*" >&2
  if [[ -s $tmp/server.err ]]; then
    echo "--- server stderr:" >&2
    cat "$tmp/server.err" >&2
  fi
  exit 1
}

# The server's stdout stays open on a descriptor of ours, so its first line
# can be read with a timeout (no guessing how long start-up takes).
exec {server_out}< <(exec "$server_bin" --host 127.0.0.1 --port 0 --threads 2 2>"$tmp/server.err")
server_pid=$!

line=
read -r -t 10 -u "$server_out" line || fail "server printed no 'listening on' line within 10 s"
[[ $line =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || fail "unexpected first line from server: '$line'"
port=${BASH_REMATCH[1]}
echo "bench_smoke: bench-raw-cq pid $server_pid listening on port $port"

client_rc=0
timeout 60 "$client_bin" --target "127.0.0.1:$port" --smoke --server-pid "$server_pid" || client_rc=$?

kill -TERM "$server_pid"
for _ in $(seq 50); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$server_pid" 2>/dev/null && fail "server still running 5 s after SIGTERM"
server_rc=0
wait "$server_pid" || server_rc=$?
server_pid=

[[ $client_rc -eq 0 ]] || fail "troupe-bench --smoke failed (exit $client_rc)"
[[ $server_rc -eq 0 ]] || fail "server exited $server_rc after SIGTERM"
echo "bench_smoke: ok"
