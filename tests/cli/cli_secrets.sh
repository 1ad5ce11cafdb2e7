#!/usr/bin/env bash
# `troupe check-config` never prints the database password, in any form libpq
# reads one from (user:pass@, ?password=, password= keywords, a dbname that is
# itself a connection string), from the file or the environment; what is not
# secret still shows.
set -u
troupe=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
passed=0
secret=s3cr3t-Pw

# hidden NAME URL SHOWN: check-config of a file with [database] url = URL
# exits 0, prints no trace of the password and prints SHOWN (grep -F).
hidden() {
  local name=$1 url=$2 shown=$3 out
  printf '[database]\nurl = "%s"\n' "$url" > "$dir/c.toml"
  out=$(timeout 20 "$troupe" check-config "$dir/c.toml" 2>&1)
  local rc=$?
  if [ "$rc" -eq 0 ] && ! printf '%s' "$out" | grep -qiF "s3cr3t" && printf '%s' "$out" | grep -qF -- "$shown"; then
    echo "ok: $name: $(printf '%s' "$out" | grep '^url')"
    passed=$((passed + 1))
  else
    echo "FAILED: $name (exit $rc): $(printf '%s' "$out" | grep '^url')"
    failures=$((failures + 1))
  fi
}

hidden "user:pass@" "postgresql://alice:$secret@db.example:5432/app" "postgresql://alice:***@db.example:5432/app"
hidden "user:pass@, percent-encoded" "postgres://alice:s3cr3t%40x@db.example/app" "alice:***@db.example/app"
hidden "?password=" "postgresql://alice@db.example/app?password=$secret&sslmode=require" "sslmode=require"
hidden "password= keyword" "host=db.example user=alice password=$secret dbname=app" "password='***'"
hidden "quoted password= keyword" "host=db.example password='$secret with spaces' dbname=app" "host='db.example'"
hidden "dbname holding a url" "dbname=postgresql://alice:$secret@db.example/app" "dbname="
hidden "not parseable" "postgresql://alice:$secret@db.example/app?nosuchoption=1" "url = 'postgresql://***'"
hidden "no password: unchanged" "postgresql://alice@db.example:5432/app" "url = 'postgresql://alice@db.example:5432/app'"
hidden "sqlite: unchanged" "sqlite://var/troupe.db" "url = 'sqlite://var/troupe.db'"

# The environment goes through the same path.
printf '[database]\nworkers = 2\n' > "$dir/base.toml"
out=$(TROUPE_DATABASE_URL="postgresql://alice:$secret@db.example/app" timeout 20 "$troupe" check-config "$dir/base.toml" 2>&1)
if ! printf '%s' "$out" | grep -qF "$secret" && printf '%s' "$out" | grep -qF "alice:***@db.example/app"; then
  echo "ok: TROUPE_DATABASE_URL"
  passed=$((passed + 1))
else
  echo "FAILED: TROUPE_DATABASE_URL: $(printf '%s' "$out" | grep '^url')"
  failures=$((failures + 1))
fi

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
