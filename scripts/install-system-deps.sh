#!/usr/bin/env bash
# Installs the Debian packages that integration tests and benchmarks start as real
# processes. Idempotent: does nothing when everything is already there.
set -euo pipefail
needed=()
# Added here as tests start needing them (mosquitto, nats-server, chromium).
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || needed+=("$pkg")
done
if [ ${#needed[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${needed[@]}"
fi
