#!/usr/bin/env bash
# System packages the test suite uses (CI starts on a fresh machine).
# systemd: its systemd-analyze/systemd-escape are oracles some tests compare with.
# bubblewrap: `npm run bench` compares sysg's hardened launch with bwrap doing the same work.
# The test-execute conformance harness and the units it runs: unshare/mount (util-linux),
# ip (iproute2), capsh (libcap2-bin), python3, cmp (diffutils), ionice (util-linux),
# systemd-notify (systemd).
# nginx, redis-server, memcached: test/daemons.test.ts runs them from their Debian unit files.
set -euo pipefail
need=()
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v systemd-escape >/dev/null 2>&1 || need+=(systemd)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v systemd-notify >/dev/null 2>&1 || need+=(systemd)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v ionice >/dev/null 2>&1 || need+=(util-linux)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v capsh >/dev/null 2>&1 || need+=(libcap2-bin)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v cmp >/dev/null 2>&1 || need+=(diffutils)
command -v perl >/dev/null 2>&1 || need+=(perl-base)
[ -e /lib/systemd/system/nginx.service ] || need+=(nginx)
[ -e /lib/systemd/system/redis-server.service ] || need+=(redis-server)
[ -e /lib/systemd/system/memcached.service ] || need+=(memcached)
[ ${#need[@]} -eq 0 ] && exit 0
# de-duplicate
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start the daemons (there is no systemd; sysg starts them in tests).
policy=/usr/sbin/policy-rc.d
had_policy=0
[ -e "$policy" ] && had_policy=1
if [ "$had_policy" -eq 0 ]; then printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"; fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
if [ "$had_policy" -eq 0 ]; then rm -f "$policy"; fi
