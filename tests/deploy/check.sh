#!/usr/bin/env bash
# Validates one deploy/ artifact with a real tool; run by ctest (tests/deploy/CMakeLists.txt).
#   check.sh npm-ci                                install the validators (npm ci) when missing
#   check.sh promtool ARGS...                      promtool ARGS (fails when promtool is missing)
#   check.sh systemd UNIT DSL_BINARY               systemd-analyze verify, warnings are failures
#   check.sh kubernetes MANIFEST DSL_BINARY        schema validation + the ConfigMap's dsl.toml
#   check.sh grafana DASHBOARD ALERTS              dashboard structure, metric names, PromQL
# Exit 0 when valid, 1 otherwise, with the tool's message.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

need() {
  command -v "$1" > /dev/null || { echo "$1 not found: install $2 (scripts/install-deps.sh)" >&2; exit 1; }
}

case "$1" in
  npm-ci)
    need npm npm
    if [[ ! -d "$here/node_modules/kubernetes-models" || ! -d "$here/node_modules/yaml" ]]; then
      npm ci --prefix "$here" --no-audit --no-fund
    fi
    ;;
  promtool)
    need promtool "the Debian package prometheus"
    shift
    promtool "$@"
    ;;
  systemd)
    need systemd-analyze "the Debian package systemd"
    unit="$work/$(basename "$2")"
    # verify requires ExecStart= to exist: point it at the built binary.
    sed "s#/usr/local/bin/dsl#$3#g" "$2" > "$unit"
    out="$(systemd-analyze verify "$unit" 2>&1)" || { echo "$out" >&2; exit 1; }
    # systemd-analyze exits 0 on unknown keys and bad values ("..., ignoring"): any message fails.
    if [[ -n "$out" ]]; then echo "$out" >&2; exit 1; fi
    echo "$2: verified"
    ;;
  kubernetes)
    need node nodejs
    node "$here/validate-k8s.mjs" "$2"
    # The validator must reject a known-bad manifest, or it validates nothing.
    if node "$here/validate-k8s.mjs" "$here/testdata/invalid-deployment.yaml" 2> /dev/null; then
      echo "validate-k8s.mjs accepted testdata/invalid-deployment.yaml" >&2
      exit 1
    fi
    node "$here/validate-k8s.mjs" --configmap-data "$2" dslmodel-config dsl.toml > "$work/dsl.toml"
    mkdir "$work/coordination"
    if ! out="$(env -u DSLMODEL_CONFIG "$3" --config "$work/dsl.toml" --json auto status \
                  -c "$work/coordination" 2>&1)"; then
      echo "the ConfigMap's dsl.toml is refused by dsl: $out" >&2
      exit 1
    fi
    echo "$2: ConfigMap dsl.toml accepted by dsl"
    ;;
  grafana)
    need node nodejs
    need promtool "the Debian package prometheus"
    node "$here/validate-grafana.mjs" "$2" "$3" "$here/exported-metrics.txt" "$work/queries.yml"
    promtool check rules "$work/queries.yml"
    ;;
  *)
    echo "usage: check.sh npm-ci|promtool|systemd|kubernetes|grafana ..." >&2
    exit 2
    ;;
esac
