#!/usr/bin/env bash
# Make OpenTofu available offline; print the directory to put first on PATH.
#
# Uses a `tofu` already on PATH when there is one. Otherwise builds it with the Go toolchain
# from the Go module proxy into a cache that later runs reuse, as scripts/engine.sh builds
# the Pulumi engine. OpenTofu's own go.mod replaces a dependency (hcl/v2 by OpenTofu's fork);
# a `replace` binds only the main module, so a small wrapper module takes the same
# replacements before it builds github.com/opentofu/opentofu/cmd/tofu.
set -euo pipefail
VERSION="${OCHAMI_TOFU_VERSION:-v1.12.6}"
CACHE="${OCHAMI_TOFU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ochami-provider/opentofu}"
MODULE=github.com/opentofu/opentofu

if command -v tofu >/dev/null; then
  dirname "$(command -v tofu)"
  exit 0
fi

BIN="$CACHE/bin"
WORK="$CACHE/build/tofu-$VERSION"
if [ -x "$BIN/tofu" ] && [ -f "$WORK/.done" ]; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$BIN" "$WORK"
echo "building tofu $VERSION from the Go module proxy (log: $WORK/build.log)" >&2
if ! (
  set -e
  cd "$WORK"
  rm -f go.mod go.sum
  go mod init tofubuild
  gomod=$(go mod download -json "$MODULE@$VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  # Each of OpenTofu's replacements, as `old[@version]=new[@version]`.
  go mod edit -json "$gomod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    old, new = r["Old"], r["New"]
    left = old["Path"] + ("@" + old["Version"] if old.get("Version") else "")
    right = new["Path"] + ("@" + new["Version"] if new.get("Version") else "")
    print(left + "=" + right)
' | while read -r replacement; do go mod edit -replace "$replacement"; done
  GOFLAGS=-mod=mod go get "$MODULE@$VERSION"
  # A release build: `tofu version` says the version, without OpenTofu's "-dev" marker.
  GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X $MODULE/version.dev=no" \
    -o "$BIN/tofu" "$MODULE/cmd/tofu"
  touch .done
) >"$WORK/build.log" 2>&1; then
  tail -20 "$WORK/build.log" >&2
  exit 1
fi
echo "$BIN"
