#!/usr/bin/env bash
# Everything the real OpenCHAMI services need on this machine: PostgreSQL from Debian's packages
# (installed when missing), and the services built from their Go modules (through the Go module
# proxy) into a cache that later runs reuse. Prints the cache directory. Each service is built
# inside its own module directory, so it gets exactly the dependency versions its go.sum pins.
# tests/openchami starts them (python -m tests.openchami for a developer; pytest fixtures).
#
# Layout of the printed directory:
#   bin/smd bin/smd-init bin/boot-script-service bin/bss-init bin/cloud-init-server
#   bin/boot-service                            (OpenCHAMI v0.2's BSS successor)
#   bin/power-control migrations/pcs/*.sql      (PCS, when it builds: root only, see below)
#   sushy/                                      (sushy-tools, the BMC emulator, in its own venv)
#   migrations/smd/*.sql migrations/bss/*.sql   (the PostgreSQL migrations each service ships)
#   versions                                    (what was built, one "name version" per line)
#
# Versions: the proxy this project may use serves only some versions of these modules (and of
# their dependencies); each pin below is the newest that builds from it. See docs/real-services.md.
#   SMD        v2.19.1  (v2.20.x need a tokensmith pseudo-version the proxy refuses)
#   BSS        v1.32.2
#   cloud-init v1.2.3   (v1.4.5 needs github.com/OpenCHAMI/quack v0.0.3, refused by the proxy)
#   boot-service v0.3.2 (commit 8d29222c0887): its module as GOPROXY resolves it (as on a
#              user's machine; the proxy here refuses it, `direct` may still fetch it); else
#              the source tarball in $OCHAMI_SOURCES (default ../shared/sources beside the
#              clone). The script says which it used.
#   PCS        commit 9d78bc554514 (v2.12.1+68): its module as GOPROXY resolves it, else the
#              source tarball in $OCHAMI_SOURCES with the three dependencies the proxy here
#              refuses (hms-trs-app-api, hms-trs-kafkalib, tokensmith) joined by
#              `go mod edit -replace` in a copy. The script says which it used.
#   sushy-tools 2.2.0 from PyPI (the BMCs the real PCS drives), in $CACHE/sushy.
set -euo pipefail
SMD_VERSION="${OPENCHAMI_SMD_VERSION:-v2.19.1}"
BSS_VERSION="${OPENCHAMI_BSS_VERSION:-v1.32.2}"
CLOUD_INIT_VERSION="${OPENCHAMI_CLOUD_INIT_VERSION:-v1.2.3}"
BOOT_SERVICE_VERSION="${OPENCHAMI_BOOT_SERVICE_VERSION:-v0.3.2}"
BOOT_SERVICE_COMMIT=8d29222c0887
# A commit: the proxy resolves it to its pseudo-version.
PCS_VERSION="${OPENCHAMI_PCS_VERSION:-9d78bc554514}"
PCS_COMMIT=9d78bc554514
SUSHY_VERSION="${SUSHY_TOOLS_VERSION:-2.2.0}"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
SOURCES="${OCHAMI_SOURCES:-$HERE/../shared/sources}"
CACHE="${OCHAMI_SERVICES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ochami-provider/openchami}"
PYTHON="${PYTHON:-python3}"

if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian's packages" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
fi

stamp="smd=$SMD_VERSION bss=$BSS_VERSION cloud-init=$CLOUD_INIT_VERSION boot-service=$BOOT_SERVICE_VERSION"
mkdir -p "$CACHE/bin" "$CACHE/migrations/smd" "$CACHE/migrations/bss" "$CACHE/migrations/pcs" "$CACHE/work"
log="$CACHE/build.log"

module_dir() {  # module_dir <module>@<version>: download it, print its directory in the cache
  (cd "$CACHE/work" && go mod download -json "$1") \
    | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))'
}

build() {  # build <module> <version> <package dir>...
  local module="$1" version="$2" dir
  shift 2
  echo "building $module $version from the Go module proxy (log: $log)" >&2
  dir=$(module_dir "$module@$version")
  if ! (cd "$dir" && go build -o "$CACHE/bin/" "$@") >>"$log" 2>&1; then
    tail -20 "$log" >&2
    exit 1
  fi
  echo "$dir"
}

services() {  # SMD, BSS, cloud-init, boot-service
  : >"$log"
  smd_dir=$(build github.com/OpenCHAMI/smd/v2 "$SMD_VERSION" ./cmd/smd ./cmd/smd-init)
  bss_dir=$(build github.com/OpenCHAMI/bss "$BSS_VERSION" ./cmd/boot-script-service ./cmd/bss-init)
  build github.com/OpenCHAMI/cloud-init "$CLOUD_INIT_VERSION" ./cmd/cloud-init-server >/dev/null

  # boot-service: the module from the proxy, else the source tree. Its binary is cmd/server.
  boot_service_from=""
  if dir=$(module_dir "github.com/openchami/boot-service@$BOOT_SERVICE_VERSION" 2>>"$log"); then
    boot_service_from="its Go module github.com/openchami/boot-service $BOOT_SERVICE_VERSION, as GOPROXY ($(go env GOPROXY)) resolves it"
  else
    tarball="$SOURCES/boot-service-$BOOT_SERVICE_COMMIT.tar.gz"
    if [ ! -f "$tarball" ]; then
      echo "boot-service: the Go module proxy refuses github.com/openchami/boot-service and" \
        "there is no source tree at $tarball (set OCHAMI_SOURCES)" >&2
      exit 1
    fi
    rm -rf "$CACHE/work/boot-service-src" && mkdir -p "$CACHE/work/boot-service-src"
    tar xzf "$tarball" -C "$CACHE/work/boot-service-src"
    dir="$CACHE/work/boot-service-src/boot-service"
    boot_service_from="the source tree $tarball (commit $BOOT_SERVICE_COMMIT, since GOPROXY does not resolve the module)"
  fi
  echo "building boot-service from $boot_service_from" >&2
  if ! (cd "$dir" && go build -o "$CACHE/bin/boot-service" ./cmd/server) >>"$log" 2>&1; then
    tail -20 "$log" >&2
    exit 1
  fi

  rm -f "$CACHE/migrations/smd/"*.sql "$CACHE/migrations/bss/"*.sql
  install -m 0644 "$smd_dir"/migrations/postgres/*.sql "$CACHE/migrations/smd/"
  install -m 0644 "$bss_dir"/migrations/postgres/*.sql "$CACHE/migrations/bss/"
  printf 'smd %s\nbss %s\ncloud-init %s\nboot-service %s (%s)\n' "$SMD_VERSION" "$BSS_VERSION" \
    "$CLOUD_INIT_VERSION" "$BOOT_SERVICE_VERSION" "$boot_service_from" >"$CACHE/versions"
  echo "$stamp" >"$CACHE/.done"
}

pcs() {  # the real PCS and the BMC emulator it drives in the tests
  local dir from tarball work="$CACHE/work/pcs-src" mod=""
  if dir=$(module_dir "github.com/openchami/power-control/v2@$PCS_VERSION" 2>>"$log"); then
    from="its Go module github.com/openchami/power-control/v2 $PCS_VERSION, as GOPROXY ($(go env GOPROXY)) resolves it"
  else
    rm -rf "$work" && mkdir -p "$work"
    for tree in power-control-$PCS_COMMIT hms-trs-app-api-* hms-trs-kafkalib-* tokensmith-*; do
      tarball=$(ls "$SOURCES"/$tree.tar.gz 2>/dev/null | head -1)
      if [ -z "$tarball" ]; then
        echo "PCS: the Go module proxy refuses github.com/openchami/power-control/v2 and" \
          "there is no $tree.tar.gz in $SOURCES (set OCHAMI_SOURCES); the tests use the" \
          "simulator's PCS" >&2
        return 0
      fi
      tar xzf "$tarball" -C "$work"
    done
    dir="$work/power-control"
    (cd "$dir" && go mod edit \
      -replace github.com/Cray-HPE/hms-trs-app-api/v3=../hms-trs-app-api \
      -replace github.com/Cray-HPE/hms-trs-kafkalib/v2=../hms-trs-kafkalib \
      -replace github.com/openchami/tokensmith=../tokensmith)
    mod="-mod=mod"  # the replaced modules change what go.sum must hold
    from="the source trees in $SOURCES (power-control $PCS_COMMIT and the three dependencies GOPROXY refuses, joined with go mod edit -replace)"
  fi
  echo "building PCS from $from" >&2
  if ! (cd "$dir" && go build $mod -o "$CACHE/bin/power-control" ./cmd/power-control) >>"$log" 2>&1; then
    tail -20 "$log" >&2
    exit 1
  fi
  rm -f "$CACHE/migrations/pcs/"*.sql
  install -m 0644 "$dir"/migrations/postgres/*.sql "$CACHE/migrations/pcs/"
  echo "installing sushy-tools $SUSHY_VERSION from PyPI (the BMC emulator)" >&2
  rm -rf "$CACHE/sushy"
  "$PYTHON" -m venv "$CACHE/sushy" >>"$log" 2>&1
  "$CACHE/sushy/bin/pip" install -q "sushy-tools==$SUSHY_VERSION" >>"$log" 2>&1
  printf 'pcs %s (%s)\nsushy-tools %s\n' "$PCS_COMMIT" "$from" "$SUSHY_VERSION" >"$CACHE/versions-pcs"
  echo "$pcs_stamp" >"$CACHE/.pcs-done"
}

if ! { [ -f "$CACHE/.done" ] && [ "$(cat "$CACHE/.done")" = "$stamp" ]; }; then
  services
fi
pcs_stamp="pcs=$PCS_COMMIT sushy-tools=$SUSHY_VERSION"
if ! { [ -f "$CACHE/.pcs-done" ] && [ "$(cat "$CACHE/.pcs-done")" = "$pcs_stamp" ]; }; then
  pcs
fi
echo "$CACHE"
