#!/usr/bin/env bash
# `troupe` refuses bad input at start-up with one readable line and a non-zero
# exit: missing file, TOML syntax error, unknown key, unusable or unreachable
# database, port already in use.
set -u
troupe=$1
dir=$(mktemp -d)
# Servers started here keep the default database (var/troupe.db) in $dir, not
# in a folder other tests share.
cd "$dir" || exit 1
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
failures=0
checks=0

# expect NAME PATTERN -- COMMAND...: exits non-zero, stderr is one line matching PATTERN.
expect() {
  local name=$1 pattern=$2
  shift 3
  local out rc lines
  checks=$((checks + 1))
  out=$(timeout 20 "$@" 2>&1 >/dev/null)
  rc=$?
  lines=$(printf '%s\n' "$out" | grep -c .)
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$lines" -eq 1 ] && printf '%s' "$out" | grep -Eq "$pattern"; then
    echo "ok: $name: $out"
  else
    echo "FAILED: $name (exit $rc, $lines lines): $out"
    failures=$((failures + 1))
  fi
}

expect "missing file" "^troupe: $dir/none.toml: cannot read config file: No such file" -- \
  "$troupe" serve --config "$dir/none.toml"

printf '[server]\nport = 1\nhost = "x\n' > "$dir/syntax.toml"
expect "syntax error" "^troupe: $dir/syntax.toml:3:[0-9]+: TOML syntax error" -- \
  "$troupe" serve --config "$dir/syntax.toml"

printf '[server]\nhots = "127.0.0.1"\n' > "$dir/unknown.toml"
expect "unknown key" "^troupe: $dir/unknown.toml:2:1: \[server\] hots: unknown key \(did you mean 'host'\?\)$" -- \
  "$troupe" serve --config "$dir/unknown.toml"

expect "check-config" "unknown key" -- "$troupe" check-config "$dir/unknown.toml"

printf '[database]\nurl = "mysql://db/x"\n' > "$dir/db.toml"
expect "unusable database" "^troupe: \[database\] invalid_argument: unsupported database url .mysql://\*\*\*." -- \
  "$troupe" serve --config "$dir/db.toml"

# Nothing listens on port 1: libpq's two-line message arrives as one.
printf '[database]\nurl = "postgresql://nobody@127.0.0.1:1/x"\n' > "$dir/pg.toml"
expect "unreachable postgresql" "^troupe: \[database\] unavailable: cannot connect to postgresql://nobody@127.0.0.1:1/x" -- \
  "$troupe" serve --config "$dir/pg.toml"
expect "apikey on an unusable database" "^troupe: \[database\] invalid_argument: unsupported database url" -- \
  "$troupe" apikey list --config "$dir/db.toml"

# A port in use: hold one with a first server, then start a second on it.
printf '[server]\nport = 0\n' > "$dir/any.toml"
"$troupe" serve --config "$dir/any.toml" > "$dir/first.out" 2>/dev/null &
server=$!
for _ in $(seq 200); do
  grep -q "listening on" "$dir/first.out" && break
  sleep 0.05
done
port=$(grep -o '[0-9]*$' "$dir/first.out")
if [ -z "$port" ]; then
  echo "FAILED: first server did not start"
  exit 1
fi
expect "port in use" "^troupe: cannot listen on 127.0.0.1:$port: address in use" -- \
  "$troupe" serve --config "$dir/any.toml" --port "$port"
kill -TERM $server
wait $server
echo "first server exited with $? after SIGTERM"

# A model's table that disagrees with its message (troupe::models checks the
# columns at start-up): the books table without its summary column.
if command -v sqlite3 >/dev/null; then
  printf '[server]\nport = 0\n[database]\nurl = "sqlite://%s/books.db"\n' "$dir" > "$dir/books.toml"
  timeout 20 "$troupe" serve --config "$dir/books.toml" > "$dir/books.out" 2>&1 &
  books_server=$!
  for _ in $(seq 1 200); do
    grep -q '^listening on' "$dir/books.out" 2>/dev/null && break
    sleep 0.05
  done
  kill -TERM $books_server
  wait $books_server
  sqlite3 "$dir/books.db" 'ALTER TABLE books DROP COLUMN summary'
  expect "model table disagrees" "^troupe: services: table books disagrees with demo.v1.Book: column summary is missing$" -- \
    "$troupe" serve --config "$dir/books.toml"
else
  echo "skipped: model table disagrees (no sqlite3 command)"
fi

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
