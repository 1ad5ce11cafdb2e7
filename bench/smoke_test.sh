#!/usr/bin/env bash
# ctest bench_smoke: starts bench-raw-cq on a port the OS picks, runs
# `troupe-bench --smoke` against it, then stops the server with SIGTERM and
# checks that it exits 0. Given Troupe's binary too, does the same with
# `troupe serve` (SQLite in a temporary folder) and the Troupe-only db and
# db-saturation scenarios. Every wait is bounded.
# Usage: smoke_test.sh SERVER_BINARY TROUPE_BENCH_BINARY [TROUPE_BINARY]
set -euo pipefail

server_bin=$1
client_bin=$2
troupe_bin=${3:-}
tmp=$(mktemp -d)
server_pid=
server_name=

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
    echo "--- $server_name stderr:" >&2
    cat "$tmp/server.err" >&2
  fi
  exit 1
}

# Starts NAME DIR COMMAND...: in DIR, and sets `port` from its
# "listening on 127.0.0.1:PORT" line. The server's stdout stays open on a
# descriptor of ours, so that line can be read with a timeout (no guessing how
# long start-up takes); Troupe may log other lines before it.
start_server() {
  server_name=$1
  local dir=$2
  shift 2
  exec {server_out}< <(cd "$dir" && exec "$@" 2>"$tmp/server.err")
  server_pid=$!
  local line deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    read -r -t $((deadline - SECONDS + 1)) -u "$server_out" line || break
    if [[ $line =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]]; then
      port=${BASH_REMATCH[1]}
      echo "bench_smoke: $server_name pid $server_pid listening on port $port"
      return 0
    fi
  done
  fail "$server_name printed no 'listening on' line within 10 s"
}

# SIGTERM, then the server must be gone within 5 s with exit status 0.
stop_server() {
  kill -TERM "$server_pid"
  for _ in $(seq 50); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$server_pid" 2>/dev/null && fail "$server_name still running 5 s after SIGTERM"
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=
  exec {server_out}<&-
  [[ $rc -eq 0 ]] || fail "$server_name exited $rc after SIGTERM"
}

start_server bench-raw-cq "$PWD" "$server_bin" --host 127.0.0.1 --port 0 --threads 2
client_rc=0
timeout 60 "$client_bin" --target "127.0.0.1:$port" --smoke --server-pid "$server_pid" || client_rc=$?
stop_server
[[ $client_rc -eq 0 ]] || fail "troupe-bench --smoke failed (exit $client_rc)"

if [[ -n $troupe_bin ]]; then
  # Troupe keeps its SQLite database under ./var of its working folder.
  mkdir -p "$tmp/troupe/var"
  printf '[server]\nhost = "127.0.0.1"\nport = 0\nbench_service = true\n' >"$tmp/troupe/troupe.toml"
  start_server troupe "$tmp/troupe" "$troupe_bin" serve --config troupe.toml
  for scenario in db db-saturation; do
    timeout 60 "$client_bin" --target "127.0.0.1:$port" --smoke --scenario "$scenario" \
      --server-pid "$server_pid" || client_rc=$?
    [[ $client_rc -eq 0 ]] || break
  done
  stop_server
  [[ $client_rc -eq 0 ]] || fail "troupe-bench --smoke --scenario $scenario failed (exit $client_rc)"
fi
echo "bench_smoke: ok"
