#!/usr/bin/env bash
# Make the real Pulumi engine available offline; print the directory to put first on PATH.
#
# Uses a `pulumi` and `pulumi-language-python` already on PATH when both are there. Otherwise
# builds them with the Go toolchain from the Go module proxy into a cache that later runs reuse:
#   - the CLI from github.com/pulumi/pulumi/pkg/v3 (cmd/pulumi);
#   - the Python language host from github.com/pulumi/pulumi/sdk/v3 at the last version that
#     still carried it inside that module (the newer standalone module is not on the proxy);
#   - the program executor and the dynamic-provider launcher, plain scripts shipped in the
#     sdk/v3 module of the installed Python SDK's version.
set -euo pipefail
CLI_VERSION="${PULUMI_CLI_VERSION:-v3.274.1}"
HOST_VERSION="${PULUMI_HOST_VERSION:-v3.79.0}"
CACHE="${OCHAMI_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ochami-provider/pulumi-engine}"
# The Python whose pulumi SDK the launcher scripts must match: the project's .venv when there is one.
VENV_PYTHON="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python"
if [ -z "${PYTHON:-}" ] && [ -x "$VENV_PYTHON" ]; then PYTHON="$VENV_PYTHON"; fi
PYTHON="${PYTHON:-python3}"

if command -v pulumi >/dev/null && command -v pulumi-language-python >/dev/null \
   && command -v pulumi-resource-pulumi-python >/dev/null; then
  dirname "$(command -v pulumi)"
  exit 0
fi

BIN="$CACHE/bin"
mkdir -p "$BIN" "$CACHE/build"
export GOFLAGS="${GOFLAGS:-} -mod=mod"

build() {  # build <module> <package> <version> <output>
  local work="$CACHE/build/$(basename "$4")-$3"
  [ -x "$BIN/$(basename "$4")" ] && [ -f "$work/.done" ] && return 0
  mkdir -p "$work"
  echo "building $(basename "$4") $3 from the Go module proxy (log: $work/build.log)" >&2
  if ! (cd "$work" && rm -f go.mod go.sum && go mod init enginebuild \
        && go get "$2@$3" && go build -o "$4" "$2" && touch .done) >"$work/build.log" 2>&1; then
    tail -20 "$work/build.log" >&2
    exit 1
  fi
}

build github.com/pulumi/pulumi/pkg/v3 github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  "$CLI_VERSION" "$BIN/pulumi"
build github.com/pulumi/pulumi/sdk/v3 \
  github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python "$HOST_VERSION" \
  "$BIN/pulumi-language-python"

sdk_version="v$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("pulumi"))')"
if [ ! -f "$BIN/.scripts-$sdk_version" ]; then
  dir=$(cd "$CACHE/build" && go mod download -json "github.com/pulumi/pulumi/sdk/v3@$sdk_version" \
        | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  install -m 0755 "$dir/python/cmd/pulumi-language-python-exec" "$BIN/"
  install -m 0755 "$dir/python/dist/pulumi-resource-pulumi-python" "$BIN/"
  touch "$BIN/.scripts-$sdk_version"
fi
echo "$BIN"
