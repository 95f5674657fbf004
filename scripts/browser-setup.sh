#!/usr/bin/env bash
# What the status map's browser test and the README's screenshot need, from Debian's packages:
# Chromium and its chromedriver (/usr/bin/chromium, /usr/bin/chromedriver).
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  echo "browser-setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq >&2 || true
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
