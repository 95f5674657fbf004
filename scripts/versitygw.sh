#!/usr/bin/env bash
# Make versitygw (Versity's S3 gateway) available offline; print the directory to put first on
# PATH. The team-backend tests serve a loopback S3 with it: it is the S3 the OpenCHAMI tutorial
# deploys for boot images, and a Go module the proxy serves (no `replace` in its go.mod, so a
# plain `go install` builds it). Uses one already on PATH; otherwise builds into a cache that
# later runs reuse, as scripts/tofu.sh does.
set -euo pipefail
VERSION="${OCHAMI_VERSITYGW_VERSION:-v1.8.0}"
CACHE="${OCHAMI_VERSITYGW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ochami-provider/versitygw}"
MODULE=github.com/versity/versitygw

if command -v versitygw >/dev/null; then
  dirname "$(command -v versitygw)"
  exit 0
fi

BIN="$CACHE/bin"
if [ -x "$BIN/versitygw" ] && [ -f "$CACHE/.done-$VERSION" ]; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$BIN"
echo "building versitygw $VERSION from the Go module proxy (log: $CACHE/build.log)" >&2
if ! GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "$MODULE/cmd/versitygw@$VERSION" \
  >"$CACHE/build.log" 2>&1; then
  tail -20 "$CACHE/build.log" >&2
  exit 1
fi
touch "$CACHE/.done-$VERSION"
echo "$BIN"
