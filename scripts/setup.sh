#!/usr/bin/env bash
# Installs the Debian 12 packages vigie needs, only those missing (apt-get; sudo when not root).
# Usage: scripts/setup.sh [build|check|bench|demo]
set -euo pipefail
pkgs=(build-essential cmake pkg-config libyaml-dev libvectorscan-dev libpcre2-dev libssl-dev
      libsqlite3-dev libmaxminddb-dev librdkafka-dev zlib1g-dev libzstd-dev)
case "${1:-build}" in
  check) pkgs+=(clang libclang-rt-14-dev python3 chromium) ;;
  bench) pkgs+=(libsimdjson-dev g++ jq) ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "vigie setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
