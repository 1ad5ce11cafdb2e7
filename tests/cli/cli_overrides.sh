#!/usr/bin/env bash
# Flags and TROUPE_<SECTION>_<KEY> environment variables as the `troupe` binary
# applies them: environment over file, flags over both, and a bad value from
# either is one line naming the variable or flag.
set -u
troupe=$1
dir=$(mktemp -d)
# Servers started here keep the default database (var/troupe.db) in $dir, not
# in a folder other tests share.
cd "$dir" || exit 1
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$dir"' EXIT
failures=0
passed=0

ok() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAILED: $1"; failures=$((failures + 1)); }

printf '[server]\nport = 0\nshutdown_grace_s = 1\n[database]\nworkers = 2\n' > "$dir/base.toml"

# check NAME PATTERN -- COMMAND...: exits 0 and stdout matches PATTERN (grep -E).
check() {
  local name=$1 pattern=$2
  shift 3
  local out
  if out=$(timeout 20 "$@" 2>&1) && printf '%s' "$out" | grep -Eq "$pattern"; then ok "$name"; else
    fail "$name: $(printf '%s' "$out" | head -5)"; fi
}

# refuse NAME CODE PATTERN -- COMMAND...: exits CODE with one stderr line matching PATTERN.
refuse() {
  local name=$1 code=$2 pattern=$3
  shift 4
  local out rc
  out=$(timeout 20 "$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -eq "$code" ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] &&
     printf '%s' "$out" | grep -Eq "$pattern"; then ok "$name: $out"; else
    fail "$name (exit $rc): $out"; fi
}

# serve NAME ARGS...: starts `troupe serve ARGS`, waits for it to listen, stops
# it with SIGTERM; its stdout+stderr are left in $dir/serve.log.
serve() {
  local name=$1
  shift
  # Emptied here, not only by the redirection below: that one happens in the
  # child, later, and the wait could meanwhile read the previous run's line.
  : > "$dir/serve.log"
  "$troupe" serve "$@" > "$dir/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 400); do
    grep -q "^listening on" "$dir/serve.log" && break
    kill -0 $server 2>/dev/null || break
    sleep 0.05
  done
  if ! grep -q "^listening on" "$dir/serve.log"; then
    fail "$name: did not start: $(cat "$dir/serve.log")"
  fi
  kill -TERM $server 2>/dev/null
  wait $server
  server=
}

# seen NAME PATTERN: the last serve's output matches PATTERN.
seen() {
  if grep -Eq "$2" "$dir/serve.log"; then ok "$1"; else fail "$1: $(cat "$dir/serve.log")"; fi
}

# --- the environment, through check-config (which prints the effective config)
check "TROUPE_SERVER_PORT" "^port = 50052$" -- env TROUPE_SERVER_PORT=50052 "$troupe" check-config "$dir/base.toml"
check "TROUPE_SERVER_HOST" "^host = '0.0.0.0'$" -- env TROUPE_SERVER_HOST=0.0.0.0 "$troupe" check-config "$dir/base.toml"
check "TROUPE_SERVER_SHUTDOWN_GRACE_S" "^shutdown_grace_s = 2.5$" -- \
  env TROUPE_SERVER_SHUTDOWN_GRACE_S=2.5 "$troupe" check-config "$dir/base.toml"
check "TROUPE_SERVER_REFLECTION" "^reflection = false$" -- \
  env TROUPE_SERVER_REFLECTION=false "$troupe" check-config "$dir/base.toml"
check "TROUPE_DATABASE_WORKERS over the file" "^workers = 9$" -- \
  env TROUPE_DATABASE_WORKERS=9 "$troupe" check-config "$dir/base.toml"
check "TROUPE_AUTH_PUBLIC_METHODS" "'/a.B/C'," -- \
  env TROUPE_AUTH_PUBLIC_METHODS=/a.B/C,/d.E/F "$troupe" check-config "$dir/base.toml"
refuse "bad environment value" 2 "^troupe: TROUPE_SERVER_PORT: \[server\] port: expected an integer \(got 'abc'\)$" -- \
  env TROUPE_SERVER_PORT=abc "$troupe" serve --config "$dir/base.toml"
refuse "unknown environment key" 2 "^troupe: TROUPE_SERVER_PROT: unknown configuration variable \(did you mean 'TROUPE_SERVER_PORT'\?\)$" -- \
  env TROUPE_SERVER_PROT=1 "$troupe" check-config "$dir/base.toml"
refuse "environment breaking a rule" 2 "^troupe: \[tls\] cert: set without \[tls\] key" -- \
  env TROUPE_TLS_CERT=/x.pem "$troupe" serve --config "$dir/base.toml"

# --- flags on serve, each seen in the start-up settings line or the listening line
serve "defaults" --config "$dir/base.toml"
seen "defaults" "settings: scheduler threads per core \(sharing\), database workers 2, reflection on, health on, tls off, debug off, log level info"
serve "every flag" --config "$dir/base.toml" --host 127.0.0.1 --port 0 --threads 3 --workers 5 \
  --debug --no-reflection --no-health-check
seen "--threads --workers --debug --no-reflection --no-health-check" \
  "settings: scheduler threads 3 \(sharing\), database workers 5, reflection off, health off, tls off, debug on, log level debug"
TROUPE_SERVER_HOST=0.0.0.0 TROUPE_SERVER_PORT=1 TROUPE_DATABASE_WORKERS=7 \
  serve "flags over the environment" --config "$dir/base.toml" --host 127.0.0.1 --port 0 --workers 6
seen "--host and --port over TROUPE_SERVER_HOST/PORT" "^listening on 127\.0\.0\.1:[1-9][0-9]+$"
seen "--workers over TROUPE_DATABASE_WORKERS" "database workers 6,"
TROUPE_SERVER_PORT=0 TROUPE_SCHEDULER_MAX_THREADS=2 serve "environment without flags"
seen "TROUPE_SCHEDULER_MAX_THREADS when serving" "settings: scheduler threads 2 "

refuse "bad --threads" 2 "^troupe: --threads: \[scheduler\] max_threads: expected an integer \(got 'x'\)$" -- \
  "$troupe" serve --config "$dir/base.toml" --threads x
refuse "bad --workers" 2 "^troupe: --workers: \[database\] workers: must be between 1 and 1024 \(got '0'\)$" -- \
  "$troupe" serve --config "$dir/base.toml" --workers 0
refuse "bad --port" 2 "^troupe: --port: \[server\] port: must be between 0 and 65535 \(got '70000'\)$" -- \
  "$troupe" serve --config "$dir/base.toml" --port 70000
refuse "missing TLS file" 1 "^troupe: \[tls\] cert: cannot read $dir/none.pem: No such file or directory$" -- \
  env TROUPE_TLS_CERT="$dir/none.pem" TROUPE_TLS_KEY="$dir/none.key" "$troupe" serve --config "$dir/base.toml"

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
