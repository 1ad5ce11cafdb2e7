#!/usr/bin/env bash
# Fuzzes each target for SECONDS (default 60) from its seed corpus in
# tests/fuzz/corpus/<target>/. New inputs go to a scratch folder, not into the
# repository; a crash stops the run with the input saved under ARTIFACTS
# (default build-fuzz/artifacts) — fix the bug, then add that input to the
# target's corpus so every build replays it.
#   usage: run.sh BIN_DIR [SECONDS]
set -euo pipefail
bin=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
artifacts=${ARTIFACTS:-$bin/../artifacts}
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for corpus in "$here"/corpus/*/; do
  name=$(basename "$corpus")
  mkdir -p "$scratch/$name"
  echo "fuzz: $name for ${seconds}s"
  # -rss_limit_mb and -timeout make a memory blow-up or a hang a finding too.
  if ! "$bin/$name" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
       "$scratch/$name" "$corpus" > "$scratch/$name.log" 2>&1; then
    tail -n 40 "$scratch/$name.log"
    echo "fuzz: $name FAILED; inputs in $artifacts" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$scratch/$name.log" | tr '\n' ' '
    echo
  fi
done
exit $status
