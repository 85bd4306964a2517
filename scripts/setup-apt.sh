#!/usr/bin/env bash
# Installs the Debian packages h3bench needs, when running as root and they are missing:
# iproute2 (ip, tc), ethtool, a C compiler and make (linkem), caddy (HTTP/3 interop peer),
# nghttp2-client (h2load cross-check). Without root it only reports what is missing.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ip || need+=(iproute2)
have ethtool || need+=(ethtool)
have cc || need+=(gcc)
have make || need+=(make)
have caddy || need+=(caddy)
have h2load || need+=(nghttp2-client)
have chromium || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing Debian packages (install them as root): ${need[*]}" >&2
  exit 0
fi
echo "setup: apt-get install ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
