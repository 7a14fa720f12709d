#!/usr/bin/env bash
# The file size limit of src/ (docs/testing.md): prints every file under src/ longer than 400
# lines and fails when there is one. The 60-line limit on functions is clang-tidy's
# readability-function-size (.clang-tidy).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
limit=400
over=0
while IFS= read -r -d '' file; do
  lines=$(wc -l <"$file")
  if ((lines > limit)); then
    echo "${file#"$root"/}: $lines lines (limit $limit)"
    over=1
  fi
done < <(find "$root/src" -type f -print0 | sort -z)
exit "$over"
