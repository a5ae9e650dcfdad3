#!/usr/bin/env bash
# Build the local images that stand in for the registry images of compose.yaml in the
# stack test (this machine reaches no image registry). Each image is built from Debian
# packages (debootstrap + apt) or from Go modules of the same upstream version; see
# test/stack/README.md for what each one really runs. The images of this repository are
# its static binaries compiled on the host; the opsctl image also carries restic, built
# from its Go module at the version the repository's Dockerfile builds (RESTIC_VERSION).
#
# Usage: test/stack/build-images.sh [--force] [--list] [NAME...]
#        test/stack/build-images.sh --binaries prometheus
#   NAME      one or more of the names in the table below (default: all); the images they
#             are built on are built first when missing
#   --force   rebuild the named images even when their tag is present and current
#   --list    print the table of images and their state, build nothing
#   --binaries prometheus
#             build (once) only the Go binaries of that image, without Docker, and print
#             the folder holding them (the query-cost measurement runs them directly)
#
# An image is built only when its tag is missing or its label
# org.okx-hft-ops.test.recipe differs from the hash of its recipe (its folder under
# test/stack/images/, its upstream version, the recipes of its base images), so a second
# run is a no-op. Go binaries are built once per version into the cache dir
# ${OKX_HFT_OPS_CACHE:-/var/cache/okx-hft-ops}/artifacts/, the Debian root file system
# tarball once into .../rootfs/. Logs and timings: .../logs/ (timings.tsv).
#
# Needs: a running Docker daemon (.ci/lib/docker-engine.sh start), go, debootstrap,
# /usr/bin/time. Heavy steps run under `nice -n 10`, one at a time.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGES_DIR="$HERE/images"
CACHE="${OKX_HFT_OPS_CACHE:-/var/cache/okx-hft-ops}"
ARTIFACTS="$CACHE/artifacts"
ROOTFS_DIR="$CACHE/rootfs"
CONTEXTS="$CACHE/build-context"
LOGS="$CACHE/logs"
TIMINGS="$LOGS/timings.tsv"
RECIPE_LABEL=org.okx-hft-ops.test.recipe
UPSTREAM_LABEL=org.okx-hft-ops.test.upstream
export DOCKER_BUILDKIT=0 # the engine is 20.10 and there is no buildx: the classic builder

DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

PROMETHEUS_VERSION=v0.315.0                              # Prometheus 3.15.0
ALERTMANAGER_VERSION=v0.34.1
NODE_EXPORTER_VERSION=v1.12.1
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6    # the only one served; reports 4.53
STATSD_EXPORTER_VERSION=v0.31.0
PEBBLE_VERSION=v2.10.3                                   # = go.mod's (the acme package's test)
RESTIC_VERSION=v0.18.1                                   # = the Dockerfile's, tools.ResticVersion (a Go test compares them)

# name | tag | image it is built on ("-": none) | what it runs
IMAGE_TABLE="
debian|okx-local/debian:bookworm|-|debootstrap --variant=minbase $DEBIAN_SUITE
busybox|okx-local/busybox:bookworm|debian|Debian busybox-static on scratch
python-base|okx-local/python-base:bookworm|debian|Debian python3 3.11 + venv + pip
nginx|okx-local/nginx:1.30.5-alpine|debian|Debian nginx 1.22
postgres|okx-local/postgres:15|debian|Debian PostgreSQL 15 (no TimescaleDB)
prometheus|okx-local/prometheus:v3.15.0|busybox|github.com/prometheus/prometheus@$PROMETHEUS_VERSION
alertmanager|okx-local/alertmanager:v0.34.1|busybox|github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION
node-exporter|okx-local/node-exporter:v1.12.1|busybox|github.com/prometheus/node_exporter@$NODE_EXPORTER_VERSION
seaweedfs|okx-local/seaweedfs:4.48|debian|github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION (4.53)
superset-base|okx-local/superset-base:bookworm|python-base|the apache/superset layout on python-base
airflow-base|okx-local/airflow-base:bookworm|python-base|the apache/airflow layout on python-base
statsd-exporter|okx-local/statsd-exporter:v0.31.0|busybox|github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION
opsctl|okx-hft-ops/opsctl:0.1.0|-|this repository's cmd/opsctl, static; restic from github.com/restic/restic@$RESTIC_VERSION
telegram-stub|okx-local/telegram-stub:test|-|this repository's test/stack/telegramstub
hftsim|okx-hft-ops/hftsim:0.1.0|-|this repository's cmd/hftsim, static
mlflow|okx-hft-ops/mlflow:3.17.0|python-base|this repository's mlflow/Dockerfile (MLflow 3.17.0 from PyPI)
superset|okx-hft-ops/superset:6.1.0|superset-base|this repository's superset/Dockerfile (Superset 6.1.0 from PyPI)
airflow|okx-hft-ops/airflow:3.3.2|airflow-base|this repository's airflow/Dockerfile (Airflow 3.3.2 from PyPI, airflow/constraints.txt)
pebble|okx-local/pebble:v2.10.3|busybox|github.com/letsencrypt/pebble/v2@$PEBBLE_VERSION: the ACME CA of the TLS subtest
ansible-target|okx-local/ansible-target:bookworm|debian|Debian 12 with systemd and sshd: the converge target of ansible/ (test/converge)
"

REPO="$(cd "$HERE/../.." && pwd)"
# Files of this repository an image is made from (part of its recipe).
repo_sources() { # NAME
  case "$1" in
    # pkg/hftmetrics/go.mod: the root go.mod replaces that module with the directory,
    # so its requirements are part of every build of the root module.
    opsctl) (cd "$REPO" && find cmd/opsctl cmd/ops-probe internal go.mod go.sum pkg/hftmetrics/go.mod pkg/hftdata/go.mod -type f -name '*.go' -o -name 'go.*' -type f) ;;
    telegram-stub) (cd "$REPO" && find test/stack/telegramstub internal/tghtml go.mod go.sum pkg/hftmetrics/go.mod pkg/hftdata/go.mod -type f) ;;
    hftsim) (cd "$REPO" && find cmd/hftsim pkg/hftmetrics pkg/hftdata go.mod go.sum -type f) ;;
    # The config, init script, assets and compose file of these folders are
    # mounted or read at run time, not built into the image.
    mlflow) echo mlflow/Dockerfile ;;
    superset) echo superset/Dockerfile ;;
    airflow) printf '%s\n' airflow/Dockerfile airflow/requirements.txt airflow/constraints.txt ;;
  esac
}

# Functions besides build_NAME and bin_NAME that make the image (part of its recipe).
recipe_functions() { # NAME
  case "$1" in
    opsctl) echo opsctl_context bin_restic ;;
  esac
}

log() { printf '[build-images] %s\n' "$*" >&2; }
die() { printf '[build-images] ERROR: %s\n' "$*" >&2; exit 1; }

field() { # field NAME N -> Nth field of NAME's row
  awk -F'|' -v n="$1" -v f="$2" '$1 == n { print $f }' <<<"$IMAGE_TABLE"
}
all_names() { awk -F'|' 'NF > 1 { print $1 }' <<<"$IMAGE_TABLE"; }

# --- recipes and their hashes ---------------------------------------------------------------

declare -A RECIPE_HASH=()
recipe_hash() { # NAME -> sha256 of everything the image is made from
  local name="$1" base
  if [ -z "${RECIPE_HASH[$name]:-}" ]; then
    base="$(field "$name" 3)"
    RECIPE_HASH[$name]="$(
      {
        field "$name" 2; field "$name" 4
        [ "$base" = - ] || recipe_hash "$base"
        declare -f "build_${name//-/_}" "bin_${name//-/_}" $(recipe_functions "$name") 2>/dev/null || true
        [ "$name" != debian ] || declare -f debian_rootfs
        [ "$base" = - ] || declare -f docker_build_dir
        repo_sources "$name" | LC_ALL=C sort | while read -r f; do
          printf '%s %s\n' "$f" "$(sha256sum <"$REPO/$f" | cut -d' ' -f1)"; done
        if [ -d "$IMAGES_DIR/$name" ]; then
          (cd "$IMAGES_DIR/$name" && find . -type f | LC_ALL=C sort | while read -r f; do
            printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -d' ' -f1)"; done)
        fi
      } | sha256sum | cut -c1-16
    )"
  fi
  printf '%s\n' "${RECIPE_HASH[$name]}"
}

image_recipe() { # TAG -> the recipe label of the present image, or nothing
  docker image inspect -f "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$1" 2>/dev/null || true
}

image_current() { [ "$(image_recipe "$(field "$1" 2)")" = "$(recipe_hash "$1")" ]; }

# --- timing ---------------------------------------------------------------------------------

timed() { # timed NAME STEP LOGFILE CMD... : run CMD niced, log its output, record time and peak RSS
  local name="$1" step="$2" logfile="$3" tfile rc secs rss
  shift 3
  tfile="$(mktemp)"
  mkdir -p "$LOGS"
  printf '\n===== %s %s: %s\n' "$(date -u +%FT%TZ)" "$step" "$*" >>"$logfile"
  set +e
  /usr/bin/time -f '%e %M' -o "$tfile" nice -n 10 "$@" >>"$logfile" 2>&1
  rc=$?
  set -e
  # GNU time puts "Command exited with non-zero status N" first when the command failed.
  read -r secs rss < <(tail -n 1 "$tfile") 2>/dev/null || { secs='?'; rss='?'; }
  rm -f "$tfile"
  if [ "${rss:-}" != "?" ] && [ -n "${rss:-}" ]; then rss="$((rss / 1024))"; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$step" "${secs%.*}" "$rss" \
    "$([ $rc = 0 ] && echo ok || echo "failed($rc)")" >>"$TIMINGS"
  log "  $step: ${secs%.*}s, peak RSS ${rss} MiB (largest single process)$([ $rc = 0 ] || echo ", FAILED, see $logfile")"
  if [ $rc != 0 ]; then tail -n 25 "$logfile" >&2; fi
  return $rc
}

# --- Go modules -----------------------------------------------------------------------------

# Static binaries; the module's own go.mod (with its replace/exclude directives) decides.
GO_ENV=(env GOWORK=off GOFLAGS="-buildvcs=false -mod=mod" CGO_ENABLED=0)

module_info() { # MODULE@VERSION FIELD -> a field of `go mod download -json`
  (cd / && env GOWORK=off GOFLAGS='' go mod download -json "$1") |
    sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p"
}

module_copy() { # MODULE@VERSION DEST: writable copy of the module's source from the module cache
  local dir
  dir="$(module_info "$1" Dir)"
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $1 gave no source directory"
  mkdir -p "$2" && cp -r "$dir/." "$2/" && chmod -R u+w "$2"
}

module_time() { # MODULE@VERSION -> its time as 20060102-15:04:05 (for BuildDate)
  local info
  info="$(module_info "$1" Info)"
  sed -n 's/.*"Time":"\([0-9-]*\)T\([0-9:]*\).*/\1-\2/p' "$info" | tr -d '-' | sed 's/^\(........\)/\1-/'
}

prom_ldflags() { # VERSION REVISION BUILDDATE -> ldflags of the Prometheus projects' promu builds
  local p=github.com/prometheus/common/version
  printf -- '-s -w -X %s.Version=%s -X %s.Revision=%s -X %s.Branch=HEAD -X %s.BuildUser=okx-hft-ops@local -X %s.BuildDate=%s' \
    "$p" "$1" "$p" "$2" "$p" "$p" "$p" "$3"
}

# artifact NAME VERSION BUILD_FN: $ARTIFACTS/NAME-VERSION-RECIPE/{bin,files}, built once per
# version (and per text of BUILD_FN, so that a changed recipe rebuilds); prints that path
artifact() {
  local name="$1" version="$2" fn="$3" out
  out="$ARTIFACTS/$1-$2-$(declare -f "$fn" | sha256sum | cut -c1-8)"
  printf '%s\n' "$out"
  if [ -f "$out/.complete" ]; then
    log "  binaries cached: $out"
    return 0
  fi
  log "  building binaries from Go module version $version (minutes; log $LOGS/$name.log)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin" "$out.tmp/files"
  local src rc
  src="$(mktemp -d)"
  set +e
  ( set -e; "$fn" "$src" "$out.tmp" )
  rc=$?
  set -e
  if [ $rc != 0 ]; then
    rm -rf "$src" "$out.tmp"
    return 1
  fi
  rm -rf "$src"
  local old
  for old in "$ARTIFACTS/$name-"*; do # earlier versions and recipes of NAME
    [ "$old" = "$out.tmp" ] || rm -rf "$old"
  done
  touch "$out.tmp/.complete"
  mv "$out.tmp" "$out"
}

bin_prometheus() { # SRC OUT
  local m="github.com/prometheus/prometheus@$PROMETHEUS_VERSION" v
  module_copy "$m" "$1"
  v="$(cat "$1/VERSION")"
  # The web UI is an npm build that is not done here. Embed (builtinassets) a placeholder
  # page instead, so that the UI routes (/query, /alerts, ...) answer 200 with a note
  # rather than 500; everything under /api/ and /-/ is the real thing.
  mkdir -p "$1/web/ui/static/mantine-ui"
  printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>TITLE_PLACEHOLDER</title></head><body><h1>Prometheus %s</h1><p>Local test build (okx-local/prometheus) without the web UI. The HTTP API is at api/v1/ (for example api/v1/targets).</p></body></html>\n' "$v" \
    | gzip -9 -n >"$1/web/ui/static/mantine-ui/index.html.gz"
  { cat "$1/web/ui/embed.go.tmpl"; echo; echo '//go:embed static/mantine-ui/index.html.gz'; echo 'var EmbedFS embed.FS'; } >"$1/web/ui/embed.go"
  (cd "$1" && timed prometheus "go build prometheus+promtool" "$LOGS/prometheus.log" \
    "${GO_ENV[@]}" go build -trimpath -tags netgo,builtinassets \
      -ldflags "$(prom_ldflags "$v" "gomod-$PROMETHEUS_VERSION" "$(module_time "$m")")" \
      -o "$2/bin/" ./cmd/prometheus ./cmd/promtool)
  cp "$1/documentation/examples/prometheus.yml" "$1/LICENSE" "$1/NOTICE" "$2/files/"
}

bin_alertmanager() { # SRC OUT
  local m="github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION" v d
  module_copy "$m" "$1"
  v="$(cat "$1/VERSION")"
  # ui/web.go embeds ui/app/dist, which the module zip lacks (it is built by npm + Elm).
  # A placeholder page; .html is only served from a precompressed .gz next to it.
  for d in "$1/ui/app/dist" "$1/ui/app/dist/elm" "$1/ui/app/dist/mantine"; do
    mkdir -p "$d"
    printf '<!DOCTYPE html><html><head><title>Alertmanager</title></head><body><h1>Alertmanager %s</h1><p>Local test build without the web UI; the API is at api/v2/.</p></body></html>\n' "$v" >"$d/index.html"
    gzip -9 -n -k "$d/index.html"
  done
  (cd "$1" && timed alertmanager "go build alertmanager+amtool" "$LOGS/alertmanager.log" \
    "${GO_ENV[@]}" go build -trimpath -tags netgo \
      -ldflags "$(prom_ldflags "$v" "gomod-$ALERTMANAGER_VERSION" "$(module_time "$m")")" \
      -o "$2/bin/" ./cmd/alertmanager ./cmd/amtool)
  cp "$1/examples/ha/alertmanager.yml" "$1/LICENSE" "$1/NOTICE" "$2/files/"
}

bin_node_exporter() { # SRC OUT
  local m="github.com/prometheus/node_exporter@$NODE_EXPORTER_VERSION" v
  module_copy "$m" "$1"
  v="$(cat "$1/VERSION")"
  (cd "$1" && timed node-exporter "go build node_exporter" "$LOGS/node-exporter.log" \
    "${GO_ENV[@]}" go build -trimpath -tags netgo,osusergo \
      -ldflags "$(prom_ldflags "$v" "gomod-$NODE_EXPORTER_VERSION" "$(module_time "$m")")" \
      -o "$2/bin/node_exporter" .)
  cp "$1/LICENSE" "$1/NOTICE" "$2/files/"
}

bin_statsd_exporter() { # SRC OUT
  local m="github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION" v
  module_copy "$m" "$1"
  v="$(cat "$1/VERSION")"
  (cd "$1" && timed statsd-exporter "go build statsd_exporter" "$LOGS/statsd-exporter.log" \
    "${GO_ENV[@]}" go build -trimpath -tags netgo,osusergo \
      -ldflags "$(prom_ldflags "$v" "gomod-$STATSD_EXPORTER_VERSION" "$(module_time "$m")")" \
      -o "$2/bin/statsd_exporter" .)
  cp "$1/LICENSE" "$1/NOTICE" "$2/files/"
}

bin_pebble() { # SRC OUT
  local m="github.com/letsencrypt/pebble/v2@$PEBBLE_VERSION"
  module_copy "$m" "$1"
  (cd "$1" && timed pebble "go build pebble" "$LOGS/pebble.log" \
    "${GO_ENV[@]}" go build -trimpath -ldflags "-s -w" -o "$2/bin/pebble" ./cmd/pebble)
  mkdir -p "$2/files/localhost"
  cp "$1/test/certs/localhost/cert.pem" "$1/test/certs/localhost/key.pem" "$2/files/localhost/"
  cp "$1/test/certs/pebble.minica.pem" "$1/LICENSE" "$2/files/"
}

bin_seaweedfs() { # SRC OUT
  local m="github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION"
  module_copy "$m" "$1"
  (cd "$1" && timed seaweedfs "go build weed" "$LOGS/seaweedfs.log" \
    "${GO_ENV[@]}" go build -trimpath \
      -ldflags "-s -w -X github.com/seaweedfs/seaweedfs/weed/util/version.COMMIT=${SEAWEEDFS_VERSION##*-}" \
      -o "$2/bin/weed" ./weed)
  cp "$1/docker/filer.toml" "$1/LICENSE" "$2/files/"
}

bin_restic() { # SRC OUT
  local m="github.com/restic/restic@$RESTIC_VERSION" dir
  # go install MODULE@VERSION with the flags of the repository's Dockerfile and `opsctl
  # tools` (restic's release builds, build.go, without selfupdate; the version string
  # through main.version): with the same Go, the same binary byte for byte.
  (cd "$1" && timed restic "go install restic" "$LOGS/restic.log" \
    env GOWORK=off GOFLAGS=-trimpath CGO_ENABLED=0 GOBIN="$2/bin" go install -trimpath -tags disable_grpc_modules \
      -ldflags "-s -w -X main.version=${RESTIC_VERSION#v}" "github.com/restic/restic/cmd/restic@$RESTIC_VERSION")
  "$2/bin/restic" version | grep -q "^restic ${RESTIC_VERSION#v} " \
    || die "the restic built from $m says: $("$2/bin/restic" version)"
  dir="$(module_info "$m" Dir)"
  cp "$dir/LICENSE" "$2/files/"
}

# --- images ---------------------------------------------------------------------------------

# docker_build_dir NAME [ARTIFACT_DIR] [EXTRA_CONTEXT_FN]: build test/stack/images/NAME
# in a context dir of its own (the folder + bin/ and files/ of the artifact).
docker_build_dir() {
  local name="$1" art="${2:-}" extra="${3:-}" ctx="$CONTEXTS/$1" tag
  tag="$(field "$name" 2)"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r "$IMAGES_DIR/$name/." "$ctx/"
  if [ -n "$art" ]; then cp -r "$art/bin" "$art/files" "$ctx/"; fi
  if [ -n "$extra" ]; then $extra "$ctx"; fi # a command and its leading arguments
  timed "$name" "docker build $tag" "$LOGS/$name.log" \
    docker build --label "$RECIPE_LABEL=$(recipe_hash "$name")" \
      --label "$UPSTREAM_LABEL=$(field "$name" 4)" -t "$tag" "$ctx"
  rm -rf "$ctx"
}

debian_rootfs() { # -> path of the root file system tarball, made once per recipe
  local tarball tmp root
  tarball="$ROOTFS_DIR/debian-$DEBIAN_SUITE-minbase-$( { declare -f debian_rootfs; echo "$DEBIAN_MIRROR $DEBIAN_SECURITY_MIRROR"; } | sha256sum | cut -c1-12).tar"
  if [ ! -s "$tarball" ]; then
    rm -f "$ROOTFS_DIR/debian-$DEBIAN_SUITE-minbase-"*.tar
    command -v debootstrap >/dev/null || die "debootstrap missing (.ci/lib/docker-engine.sh install)"
    mkdir -p "$ROOTFS_DIR"
    tmp="$(mktemp -d "$ROOTFS_DIR/tmp.XXXXXX")"; root="$tmp/root"
    log "  debootstrap --variant=minbase $DEBIAN_SUITE (log $LOGS/debian.log)"
    timed debian "debootstrap" "$LOGS/debian.log" \
      debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" || { rm -rf "$tmp"; return 1; }
    # Container conventions, as in the official debian images.
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
    printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\nBinary::apt::APT::Keep-Downloaded-Packages "false";\n' \
      >"$root/etc/apt/apt.conf.d/docker-clean"
    # The host's mirror may serve Release files past their Valid-Until (a snapshot):
    # carry the host's choice into the image.
    if apt-config dump Acquire::Check-Valid-Until 2>/dev/null | grep -q '"false"'; then
      printf 'Acquire::Check-Valid-Until "false";\n' >"$root/etc/apt/apt.conf.d/docker-check-valid-until"
    fi
    printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' \
      >"$root/etc/dpkg/dpkg.cfg.d/docker-slim"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
           "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.bash_history
    : >"$root/etc/resolv.conf"; printf 'localhost\n' >"$root/etc/hostname"
    tar --numeric-owner -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$tmp"
    log "  root file system: $tarball ($(du -h "$tarball" | cut -f1))"
  else
    log "  root file system cached: $tarball"
  fi
  printf '%s\n' "$tarball"
}

build_debian() {
  local tag tarball
  tag="$(field debian 2)"
  tarball="$(debian_rootfs)"
  timed debian "docker import $tag" "$LOGS/debian.log" \
    docker import --change 'CMD ["bash"]' \
      --change "LABEL $RECIPE_LABEL=$(recipe_hash debian)" \
      --change "LABEL $UPSTREAM_LABEL=\"debootstrap --variant=minbase $DEBIAN_SUITE\"" \
      "$tarball" "$tag"
}

build_busybox() { docker_build_dir busybox; }
build_nginx() { docker_build_dir nginx; }
build_postgres() { docker_build_dir postgres; }
build_ansible_target() { docker_build_dir ansible-target; }

python_base_context() { # CTX: the host's extra CA certificates and pip configuration
  local f conf=""
  mkdir -p "$1/extra-ca"
  for f in /usr/local/share/ca-certificates/*.crt; do [ -f "$f" ] && cp "$f" "$1/extra-ca/"; done
  for f in "${XDG_CONFIG_HOME:-$HOME/.config}/pip/pip.conf" "$HOME/.pip/pip.conf" /etc/pip.conf; do
    if [ -f "$f" ]; then conf="$f"; break; fi
  done
  if [ -n "$conf" ]; then cp "$conf" "$1/pip.conf"; else printf '[global]\n' >"$1/pip.conf"; fi
  if [ -n "${PIP_INDEX_URL:-}" ]; then printf 'index-url = %s\n' "$PIP_INDEX_URL" >>"$1/pip.conf"; fi
  if [ -n "${PIP_DEFAULT_TIMEOUT:-}" ]; then printf 'timeout = %s\n' "$PIP_DEFAULT_TIMEOUT" >>"$1/pip.conf"; fi
}
build_python_base() { docker_build_dir python-base "" python_base_context; }

build_prometheus() {
  local art
  art="$(artifact prometheus "$PROMETHEUS_VERSION" bin_prometheus)"
  docker_build_dir prometheus "$art"
}
build_alertmanager() {
  local art
  art="$(artifact alertmanager "$ALERTMANAGER_VERSION" bin_alertmanager)"
  docker_build_dir alertmanager "$art"
}
build_node_exporter() {
  local art
  art="$(artifact node-exporter "$NODE_EXPORTER_VERSION" bin_node_exporter)"
  docker_build_dir node-exporter "$art"
}
build_seaweedfs() {
  local art
  art="$(artifact seaweedfs "$SEAWEEDFS_VERSION" bin_seaweedfs)"
  docker_build_dir seaweedfs "$art"
}

build_statsd_exporter() {
  local art
  art="$(artifact statsd-exporter "$STATSD_EXPORTER_VERSION" bin_statsd_exporter)"
  docker_build_dir statsd-exporter "$art"
}

build_pebble() {
  local art
  art="$(artifact pebble "$PEBBLE_VERSION" bin_pebble)"
  docker_build_dir pebble "$art"
}

build_superset_base() { docker_build_dir superset-base; }
build_airflow_base() { docker_build_dir airflow-base; }

go_static_context() { # PACKAGE BINARY CTX: build a static binary of this repository into CTX
  (cd "$REPO" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$3/$2" "$1")
}
opsctl_context() { # CTX: this repository's binaries, and what restic needs besides bin/restic
  go_static_context ./cmd/opsctl opsctl "$1" && go_static_context ./cmd/ops-probe ops-probe "$1"
  # restic talks HTTPS to the S3 target; the Dockerfile copies the golang image's bundle.
  cp /etc/ssl/certs/ca-certificates.crt "$1/"
  # TMPDIR of restic's pack files; COPY keeps the mode of directories inside the one copied.
  mkdir -p "$1/rootfs/usr/share/doc/restic" && mkdir -m 1777 "$1/rootfs/tmp"
  cp "$1/files/LICENSE" "$1/rootfs/usr/share/doc/restic/LICENSE"
}
build_opsctl() {
  local art
  art="$(artifact restic "$RESTIC_VERSION" bin_restic)"
  docker_build_dir opsctl "$art" opsctl_context
}
build_hftsim() { docker_build_dir hftsim "" "go_static_context ./cmd/hftsim hftsim"; }
build_telegram_stub() { docker_build_dir telegram-stub "" "go_static_context ./test/stack/telegramstub telegramstub"; }

repo_dockerfile() { # NAME DIR BASE [BUILD-ARG...]: build the repository's own Dockerfile on a local base
  local tag; tag="$(field "$1" 2)"
  local args=(--build-arg "BASE_IMAGE=$3")
  local a; for a in "${@:4}"; do args+=(--build-arg "$a"); done
  timed "$1" "docker build $tag" "$LOGS/$1.log" \
    docker build "${args[@]}" --label "$RECIPE_LABEL=$(recipe_hash "$1")" \
      --label "$UPSTREAM_LABEL=$(field "$1" 4)" -t "$tag" "$REPO/$2"
}
build_mlflow() { repo_dockerfile mlflow mlflow okx-local/python-base:bookworm; }
build_superset() { repo_dockerfile superset superset okx-local/superset-base:bookworm; }
build_airflow() { repo_dockerfile airflow airflow okx-local/airflow-base:bookworm CONSTRAINTS=constraints.txt; }

# --- main -----------------------------------------------------------------------------------

FORCE=0; LIST=0; BINARIES=0; WANT=()
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    --binaries) BINARIES=1 ;;
    --list) LIST=1 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $a" ;;
    *) [ -n "$(field "$a" 2)" ] || die "unknown image $a (one of: $(all_names | tr '\n' ' '))"; WANT+=("$a") ;;
  esac
done
if [ "$BINARIES" = 1 ]; then
  case "${WANT[*]:-}" in
    prometheus|alertmanager|node-exporter) ;;
    *) die "--binaries takes one of: prometheus alertmanager node-exporter" ;;
  esac
  command -v go >/dev/null || die "go is needed"
  [ -x /usr/bin/time ] || die "/usr/bin/time is needed (apt-get install time)"
  mkdir -p "$CACHE" "$LOGS" "$ARTIFACTS"
  [ -f "$TIMINGS" ] || printf 'when\timage\tstep\tseconds\tpeak_rss_mib\tresult\n' >"$TIMINGS"
  exec 9>"$CACHE/.build-images.lock"
  flock -w 3600 9 || die "another build-images.sh still runs after an hour"
  n="${WANT[0]}"; v="${n^^}_VERSION"; v="${v//-/_}"
  art="$(artifact "$n" "${!v}" "bin_${n//-/_}")"
  printf '%s/bin\n' "$art"
  exit 0
fi
[ "${#WANT[@]}" -gt 0 ] || mapfile -t WANT < <(all_names)

timeout 10 docker info >/dev/null 2>&1 || die "no Docker daemon answers (start one: bash .ci/lib/docker-engine.sh start)"

if [ "$LIST" = 1 ]; then
  for n in $(all_names); do
    printf '%-14s %-34s %-8s %s\n' "$n" "$(field "$n" 2)" \
      "$(if image_current "$n"; then echo current; elif [ -n "$(image_recipe "$(field "$n" 2)")" ]; then echo stale; else echo missing; fi)" \
      "$(field "$n" 4)"
  done
  exit 0
fi

command -v go >/dev/null || die "go is needed"
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (apt-get install time)"
mkdir -p "$CACHE" "$LOGS" "$ARTIFACTS" "$CONTEXTS"
[ -f "$TIMINGS" ] || printf 'when\timage\tstep\tseconds\tpeak_rss_mib\tresult\n' >"$TIMINGS"

# One run at a time on this machine (several checkouts may share the cache and engine).
exec 9>"$CACHE/.build-images.lock"
flock -w 3600 9 || die "another build-images.sh still runs after an hour"

# The requested images and, before them, the images they are built on.
ORDER=()
add_with_bases() {
  local base; base="$(field "$1" 3)"
  [ "$base" = - ] || add_with_bases "$base"
  case " ${ORDER[*]:-} " in *" $1 "*) ;; *) ORDER+=("$1") ;; esac
}
for n in "${WANT[@]}"; do add_with_bases "$n"; done

declare -A RESULT=()
START=$SECONDS
for n in "${ORDER[@]}"; do
  tag="$(field "$n" 2)"; base="$(field "$n" 3)"
  forced=0; for w in "${WANT[@]}"; do [ "$FORCE" = 1 ] && [ "$w" = "$n" ] && forced=1; done
  if [ "$base" != - ] && [ "${RESULT[$base]%% *}" = failed ]; then
    RESULT[$n]="failed (base image $base failed)"; continue
  fi
  if [ "$forced" = 0 ] && image_current "$n"; then
    RESULT[$n]="present"; continue
  fi
  log "$tag: building ($(field "$n" 4))"
  t0=$SECONDS
  set +e
  ( set -e; "build_${n//-/_}" )
  rc=$?
  set -e
  if [ $rc = 0 ] && image_current "$n"; then
    RESULT[$n]="built in $((SECONDS - t0))s"
  else
    RESULT[$n]="failed after $((SECONDS - t0))s (log $LOGS/$n.log)"
  fi
  log "$tag: ${RESULT[$n]}"
done

# Earlier builds of our images that lost their tag to a rebuild.
docker image prune -f --filter "label=$RECIPE_LABEL" >/dev/null 2>&1 || true

failed=0
log "summary ($((SECONDS - START))s):"
for n in "${ORDER[@]}"; do
  printf '  %-34s %s\n' "$(field "$n" 2)" "${RESULT[$n]}" >&2
  case "${RESULT[$n]}" in failed*) failed=1 ;; esac
done
exit $failed
