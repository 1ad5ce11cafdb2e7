#!/usr/bin/env bash
# `make bench`: every scenario against every server, the servers alternating
# within each round (A B C D, A B C D) so that drift on a shared machine hits
# all of them alike. Prints a side-by-side table with Troupe's ratios to the
# best raw grpc++ server and to Python, and writes bench/results/<date>.json
# and .svg.
#
# Environment:
#   BENCH_DURATION  measured seconds per run (default 5; the suite then takes ~10 min)
#   BENCH_WARMUP    seconds before measuring (default 1)
#   BENCH_ROUNDS    rounds of alternation (default 2)
#   BENCH_PIN=1     server on core 0, client on core 1 (taskset)
#   BENCH_SERVERS   subset, e.g. "raw-cq python" (default: troupe raw-cq raw-callback python)
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
)

[[ -x $bin/troupe-bench ]] || { echo "bench: $bin/troupe-bench missing; run 'make build' first" >&2; exit 1; }
bin=$(cd "$bin" && pwd)  # Troupe runs from a folder of its own
[[ -x $python ]] || { echo "bench: $python missing (needed for the report)" >&2; exit 1; }

tmp=$(mktemp -d)
server_pid=
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
trap 'stop_server; rm -rf "$tmp"' EXIT

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

# Starts server $1; sets server_pid and server_port once it printed its
# "listening on" line (bounded wait).
start_server() {
  local cmd
  case $1 in
    troupe)
      mkdir -p "$tmp/troupe/var"
      printf '[server]\nhost = "127.0.0.1"\nport = 0\n' >"$tmp/troupe/troupe.toml"
      cmd=("$bin/troupe" serve --config "$tmp/troupe/troupe.toml") ;;
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

total=$((${#points[@]} * ${#active[@]} * rounds))
echo "bench: ${#points[@]} points x ${#active[@]} servers x $rounds rounds = $total runs of ${warmup}+${duration} s"
# A run that hangs is cut off well after it should have ended (durations may be fractional).
client_limit=$(awk -v d="$duration" -v w="$warmup" 'BEGIN { print int(d + w + 120) }')
n=0
mkdir -p "$tmp/runs"
for point in "${points[@]}"; do
  name=${point%%|*}
  read -r -a args <<<"${point#*|}"
  for ((round = 1; round <= rounds; round++)); do
    for s in "${active[@]}"; do
      n=$((n + 1))
      out=$tmp/runs/$name@$s@$round.json
      if ! start_server "$s"; then
        skipped+=("$s=failed to start for $name")
        continue
      fi
      rc=0
      timeout "$client_limit" "${client_prefix[@]}" "$bin/troupe-bench" \
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
