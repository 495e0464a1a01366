#!/usr/bin/env bash
# System packages the test suite uses (CI starts on a fresh machine).
# systemd: its systemd-analyze/systemd-escape are oracles some tests compare with.
# bubblewrap: `npm run bench` compares sysg's hardened launch with bwrap doing the same work.
set -euo pipefail
need=()
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v systemd-escape >/dev/null 2>&1 || need+=(systemd)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
