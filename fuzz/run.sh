#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS over its seed corpus (fuzz/corpus/<target>/, which also
# holds the regression inputs) plus a working corpus kept in the build directory. Stops at the
# first target that finds a crash, leak, timeout or sanitizer report, naming the input it wrote.
# Usage: fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:?usage: fuzz/run.sh BUILD_DIR [SECONDS]}
seconds=${2:-300}
src=$(cd "$(dirname "$0")" && pwd)
out="$build/fuzz/out"
mkdir -p "$out"
for target in work_record_fuzz journal_fuzz otlp_request_fuzz config_fuzz; do
  work="$out/corpus/$target"
  mkdir -p "$work"
  log="$out/$target.log"
  printf 'fuzz: %-18s %ss ... ' "$target" "$seconds"
  if ! "$build/fuzz/$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
      -max_len=262144 -print_final_stats=1 -artifact_prefix="$out/$target-" \
      "$work" "$src/corpus/$target" >"$log" 2>&1; then
    echo "FAILED"
    tail -n 60 "$log"
    echo "fuzz: $target failed; the input is in $out (log: $log)" >&2
    exit 1
  fi
  echo "ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$') runs," \
       "corpus $(find "$work" -type f | wc -l) files)"
done
