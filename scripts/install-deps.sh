#!/usr/bin/env bash
# Installs the Debian packages dslmodel builds, tests and benchmarks with.
# Idempotent: does nothing when every package is already present.
set -euo pipefail

packages=(
  build-essential cmake make ninja-build pkg-config git
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libcpp-httplib-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang clang-format clang-tidy libclang-rt-14-dev jq
  prometheus etcd-server etcd-client
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The prometheus package's postinst may start its daemon (and node exporter) where an init system
# runs (so may etcd's); the tests start their own servers, so stop and disable whatever it started.
if [[ " ${missing[*]} " == *" prometheus "* || " ${missing[*]} " == *" etcd-server "* ]]; then
  for svc in prometheus prometheus-node-exporter etcd; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      "${sudo_cmd[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$svc" ]; then
      "${sudo_cmd[@]}" "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
  done
fi
