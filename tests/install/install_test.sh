#!/usr/bin/env bash
# Installs the built project into a temp prefix, builds examples/ against it with
# find_package(dslmodel), and runs each example on the fixture.
# Usage: install_test.sh <build-dir> <source-dir>
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/examples" -B "$work/examples" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/examples" >/dev/null
cp -r "$src/tests/testdata/dslmodel-demo-coordination" "$work/coord"
fail() { echo "FAIL: $*"; exit 1; }

out=$("$work/examples/custom_health" "$work/coord")
echo "$out"
grep -q "standard health 0.289091 (critical)" <<<"$out" || fail "standard health"
# custom: 3/11*0.5 + min(2/3,1)*0.2 + max(0,1-8/5)*0.2 + min(4/10,1)*0.1 = 0.309697 (degraded)
grep -q "custom health 0.309697 (degraded)" <<<"$out" || fail "custom health"

out=$("$work/examples/custom_strategy" "$work/coord")
echo "$out"
grep -q "^scale_up reason=critical_backlog" <<<"$out" || fail "built-in decision first"

out=$("$work/examples/emergency_scale" "$work/coord" 5)
echo "$out"
grep -q "executed emergency_scale: emergency capacity requested" <<<"$out" || fail "handler ran"
grep -q "\"items\":8" "$work/coord/emergency_requests.log" || fail "executor wrote"
test -x "$work/prefix/bin/dsl" || fail "dsl installed"
echo "install test passed"
