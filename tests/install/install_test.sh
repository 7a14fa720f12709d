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
# The config loader: the file's values, then the environment over them.
cp -r "$src/tests/testdata/dslmodel-demo-coordination" "$work/coordination"
out=$(cd "$work" && env -u DSLMODEL_CONFIG -u DSLMODEL_COORDINATION_DIR \
  -u DSLMODEL_AUTO_MIN_CONFIDENCE -u DSLMODEL_AUTO_MAX_AGENTS \
  "$work/examples/from_config" "$src/examples/dslmodel.toml")
echo "$out"
grep -q "^coordination_dir coordination$" <<<"$out" || fail "coordination_dir from the file"
grep -q "^min_confidence 0.7$" <<<"$out" || fail "min_confidence from the file"
grep -q "^max_agents 8$" <<<"$out" || fail "max_agents from the file"
grep -q "^health 0.289091 (critical)$" <<<"$out" || fail "health of the engine from config"
grep -q "^scale_up reason=critical_backlog .* passes min_confidence$" <<<"$out" \
  || fail "decisions of the engine from config"
out=$(cd "$work" && env -u DSLMODEL_CONFIG -u DSLMODEL_AUTO_MAX_AGENTS \
  DSLMODEL_AUTO_MIN_CONFIDENCE=0.95 DSLMODEL_COORDINATION_DIR="$work/coord" \
  "$work/examples/from_config" "$src/examples/dslmodel.toml")
echo "$out"
grep -q "^coordination_dir $work/coord$" <<<"$out" || fail "DSLMODEL_COORDINATION_DIR over the file"
grep -q "^min_confidence 0.95$" <<<"$out" || fail "DSLMODEL_AUTO_MIN_CONFIDENCE over the file"
grep -q "^max_agents 8$" <<<"$out" || fail "max_agents from the file under the environment"
grep -q "^health 0.289091 (critical)$" <<<"$out" || fail "health with the environment"
grep -q "^scale_up reason=critical_backlog confidence=0.9 below min_confidence$" <<<"$out" \
  || fail "the threshold from the environment applies"
out=$(cd "$work" && DSLMODEL_AUTO_MIN_CONFIDENCE=2 \
  "$work/examples/from_config" "$src/examples/dslmodel.toml" 2>&1) && fail "bad variable accepted"
grep -q "DSLMODEL_AUTO_MIN_CONFIDENCE" <<<"$out" || fail "bad variable named: $out"

# Public headers include only public headers and third-party ones, never src/.
if grep -n '#include "' "$work/prefix/include/dslmodel/"*.h | grep -v '#include "dslmodel/'; then
  fail "a public header includes an internal one"
fi
test -x "$work/prefix/bin/dsl" || fail "dsl installed"
echo "install test passed"
