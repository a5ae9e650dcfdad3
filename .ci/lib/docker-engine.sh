#!/usr/bin/env bash
# Docker engine and Docker Compose v2 for the stack tests, on a machine without
# systemd and without access to any image registry.
#
# Run it:     bash .ci/lib/docker-engine.sh [ensure|install|start|compose|stop|status]
# Or source:  . .ci/lib/docker-engine.sh; docker_engine_ensure; ...; docker_engine_stop
#
#   install  apt-get install docker.io, debootstrap, iptables, ... (only what is missing)
#   start    start dockerd in the background when no daemon answers; remember that we did,
#            and save the firewall (iptables-save), ip_forward and the list of network
#            interfaces first
#   compose  build the Docker Compose CLI plugin from its Go module (cached by version) and
#            install it as ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-compose
#   ensure   install + start + compose (the default)
#   stop     stop the daemon only if this script started it, then restore the iptables
#            rules and ip_forward saved before the start and delete the bridges it left
#   status   say what runs and who started it
#
# Environment:
#   OKX_HFT_OPS_CACHE        cache dir outside the clone (default /var/cache/okx-hft-ops)
#   DOCKER_ENGINE_TIMEOUT    seconds to wait for `docker info` (default 90)
#   DOCKER_COMPOSE_VERSION   Compose plugin version (default v2.40.3)
#
# Sourcing this file defines functions and variables only; it changes no shell option.

: "${OKX_HFT_OPS_CACHE:=/var/cache/okx-hft-ops}"
: "${DOCKER_ENGINE_TIMEOUT:=90}"
: "${DOCKER_COMPOSE_VERSION:=v2.40.3}"
DOCKER_ENGINE_STATE_DIR="${DOCKER_ENGINE_STATE_DIR:-$OKX_HFT_OPS_CACHE/docker-engine}"
DOCKER_ENGINE_LOG="$DOCKER_ENGINE_STATE_DIR/dockerd.log"
DOCKER_ENGINE_PIDFILE="$DOCKER_ENGINE_STATE_DIR/dockerd.pid"        # present only when we started it
DOCKER_ENGINE_SAVED="$DOCKER_ENGINE_STATE_DIR/before"                # firewall etc. as before our start
DOCKER_COMPOSE_PLUGIN="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose"

_de_log() { printf '[docker-engine] %s\n' "$*" >&2; }
_de_die() { printf '[docker-engine] ERROR: %s\n' "$*" >&2; return 1; }

# Debian packages: the engine (20.10, API 1.41) with containerd and runc, iptables for its
# NAT rules, debootstrap for the base image, iproute2 for `ip`, /usr/bin/time for build stats.
DOCKER_ENGINE_PACKAGES=(docker.io containerd runc iptables debootstrap iproute2 procps time ca-certificates)

docker_engine_install() {
  local missing=() p
  for p in "${DOCKER_ENGINE_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    _de_log "packages present: ${DOCKER_ENGINE_PACKAGES[*]}"
    return 0
  fi
  _de_log "installing ${missing[*]}"
  # policy-rc.d (when present) keeps the package scripts from starting a daemon themselves.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
    apt-get install -y -q --no-install-recommends "${missing[@]}" || return 1
}

# True when a daemon answers on the default socket.
docker_engine_answers() {
  timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

# True while process PID runs (a zombie, killed but not yet reaped, does not count).
_de_alive() {
  local state
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# True when some dockerd process runs (ours or not; zombies aside).
_de_any_dockerd() {
  local p
  for p in $(pgrep -x dockerd 2>/dev/null); do _de_alive "$p" && return 0; done
  return 1
}

# PID of the dockerd we started, when that process still runs.
_de_our_pid() {
  local pid
  [ -f "$DOCKER_ENGINE_PIDFILE" ] || return 1
  pid="$(cat "$DOCKER_ENGINE_PIDFILE" 2>/dev/null)"
  [ -n "$pid" ] && _de_alive "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "dockerd" ] || return 1
  printf '%s\n' "$pid"
}

# Save what dockerd changes, unless a save from an earlier start that was never stopped is
# still there (then that one is the real "before").
_de_save_host_state() {
  if [ -f "$DOCKER_ENGINE_SAVED/iptables.rules" ]; then
    _de_log "keeping the firewall saved by an earlier start that was never stopped"
    return 0
  fi
  mkdir -p "$DOCKER_ENGINE_SAVED.tmp" || return 1
  local t dump
  dump="$(iptables-save 2>/dev/null)" || true
  {
    [ -z "$dump" ] || printf '%s\n' "$dump"
    # iptables-restore replaces only the tables it is given: name every table dockerd
    # writes to, empty when it did not exist before, so that the restore wipes its rules.
    for t in filter nat; do
      if ! printf '%s\n' "$dump" | grep -q "^\*$t\$"; then
        case "$t" in
          filter) printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' ;;
          nat) printf '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n' ;;
        esac
      fi
    done
  } >"$DOCKER_ENGINE_SAVED.tmp/iptables.rules"
  sysctl -n net.ipv4.ip_forward >"$DOCKER_ENGINE_SAVED.tmp/ip_forward" 2>/dev/null || true
  ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}' >"$DOCKER_ENGINE_SAVED.tmp/links" || true
  rm -rf "$DOCKER_ENGINE_SAVED" && mv "$DOCKER_ENGINE_SAVED.tmp" "$DOCKER_ENGINE_SAVED"
}

docker_engine_start() {
  local pid
  mkdir -p "$DOCKER_ENGINE_STATE_DIR" || return 1
  if pid="$(_de_our_pid)"; then
    if docker_engine_answers; then
      _de_log "dockerd (pid $pid, started by this script earlier) already answers"
      return 0
    fi
  elif docker_engine_answers; then
    _de_log "a Docker daemon not started by this script already answers; using it (stop will leave it alone)"
    return 0
  else
    rm -f "$DOCKER_ENGINE_PIDFILE"
    command -v dockerd >/dev/null 2>&1 || { _de_die "dockerd not installed (run: .ci/lib/docker-engine.sh install)"; return 1; }
    if [ -S /var/run/docker.sock ] && ! _de_any_dockerd; then
      rm -f /var/run/docker.sock   # stale socket of a daemon that died
    fi
    if _de_any_dockerd; then
      _de_die "a dockerd process runs but does not answer; not starting a second one"; return 1
    fi
    # A daemon killed a moment ago can linger as a zombie until it is reaped: its pid
    # files would stop the new dockerd (and its containerd). They name no live process.
    local f old
    for f in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
      old="$(cat "$f" 2>/dev/null)" || continue
      if [ -n "$old" ] && ! _de_alive "$old"; then rm -f "$f"; fi
    done
    _de_save_host_state || { _de_die "could not save the firewall state"; return 1; }
    _de_log "starting dockerd (log: $DOCKER_ENGINE_LOG)"
    printf '\n===== %s dockerd start =====\n' "$(date -u +%FT%TZ)" >>"$DOCKER_ENGINE_LOG"
    # setsid: its own session, so that an interrupt of the caller's job does not kill it.
    local args=(--host=unix:///var/run/docker.sock) mtu
    # Give docker0 the MTU of the default route's interface when it is below 1500 (1400 on
    # some cloud machines), or large TLS packets from image builds can stall.
    mtu="$(ip -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1)" || mtu=""
    if [ -n "$mtu" ]; then mtu="$(cat "/sys/class/net/$mtu/mtu" 2>/dev/null)" || mtu=""; fi
    if [ -n "$mtu" ] && [ "$mtu" -lt 1500 ]; then args+=("--mtu=$mtu"); fi
    setsid dockerd "${args[@]}" >>"$DOCKER_ENGINE_LOG" 2>&1 </dev/null &
    pid=$!
    printf '%s\n' "$pid" >"$DOCKER_ENGINE_PIDFILE"
  fi
  local waited=0
  until docker_engine_answers; do
    if ! _de_alive "$pid"; then
      tail -n 30 "$DOCKER_ENGINE_LOG" >&2
      rm -f "$DOCKER_ENGINE_PIDFILE"
      _de_restore_host_state
      _de_die "dockerd exited during start-up (log above, full log: $DOCKER_ENGINE_LOG)"; return 1
    fi
    if [ "$waited" -ge "$DOCKER_ENGINE_TIMEOUT" ]; then
      tail -n 30 "$DOCKER_ENGINE_LOG" >&2
      _de_die "dockerd (pid $pid) did not answer \`docker info\` within ${DOCKER_ENGINE_TIMEOUT}s (log: $DOCKER_ENGINE_LOG); stop it with: .ci/lib/docker-engine.sh stop"
      return 1
    fi
    sleep 1; waited=$((waited + 1))
  done
  _de_log "dockerd (pid $pid) answers after ${waited}s: $(docker info --format 'engine {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupDriver}} v{{.CgroupVersion}}' 2>/dev/null)"
}

_de_restore_host_state() {
  [ -d "$DOCKER_ENGINE_SAVED" ] || return 0
  local ok=1 l
  if [ -f "$DOCKER_ENGINE_SAVED/iptables.rules" ]; then
    if iptables-restore <"$DOCKER_ENGINE_SAVED/iptables.rules"; then
      _de_log "iptables rules restored to their state before the start"
    else
      ok=0; _de_log "WARNING: iptables-restore failed; saved rules kept in $DOCKER_ENGINE_SAVED/iptables.rules"
    fi
  fi
  if [ -s "$DOCKER_ENGINE_SAVED/ip_forward" ]; then
    sysctl -q -w "net.ipv4.ip_forward=$(cat "$DOCKER_ENGINE_SAVED/ip_forward")" || true
  fi
  if [ -f "$DOCKER_ENGINE_SAVED/links" ]; then
    # Bridges and veths that dockerd created and left behind (docker0, br-<12 hex>).
    for l in $(ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}'); do
      case "$l" in docker0|br-????????????|veth*) ;; *) continue ;; esac
      grep -qx -- "$l" "$DOCKER_ENGINE_SAVED/links" && continue
      ip link delete "$l" 2>/dev/null && _de_log "deleted interface $l"
    done
  fi
  [ "$ok" = 1 ] && rm -rf "$DOCKER_ENGINE_SAVED"
  return 0
}

docker_engine_stop() {
  local pid waited=0
  if ! pid="$(_de_our_pid)"; then
    rm -f "$DOCKER_ENGINE_PIDFILE"
    if [ -d "$DOCKER_ENGINE_SAVED" ] && ! _de_any_dockerd; then
      # A daemon we started died or was killed without `stop`: undo what it left.
      _de_log "the dockerd this script started is gone already; restoring the host state"
      _de_restore_host_state
    else
      _de_log "no dockerd started by this script runs; nothing to stop"
    fi
    return 0
  fi
  _de_log "stopping dockerd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # dockerd stops the running containers first (their stop timeout, 10 s by default).
  while _de_alive "$pid" && [ "$waited" -lt 60 ]; do sleep 1; waited=$((waited + 1)); done
  if _de_alive "$pid"; then
    _de_log "dockerd did not stop within 60s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true; sleep 2
  fi
  rm -f "$DOCKER_ENGINE_PIDFILE"
  _de_restore_host_state
  _de_log "dockerd stopped after ${waited}s"
}

docker_engine_status() {
  local pid
  if pid="$(_de_our_pid)"; then
    _de_log "dockerd pid $pid started by this script"
  elif _de_any_dockerd; then
    _de_log "dockerd pid(s) $(pgrep -x dockerd | tr '\n' ' ')not started by this script"
  else
    _de_log "no dockerd process"
  fi
  if docker_engine_answers; then
    _de_log "daemon answers: $(docker version --format 'client {{.Client.Version}} / server {{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null)"
  else
    _de_log "no daemon answers"
  fi
  if [ -x "$DOCKER_COMPOSE_PLUGIN" ]; then
    _de_log "compose plugin: $("$DOCKER_COMPOSE_PLUGIN" version 2>/dev/null)"
  else
    _de_log "compose plugin not installed"
  fi
}

# --- Docker Compose v2 CLI plugin, from the Go module proxy -------------------------------

_de_compose_reports() { # path version -> true when the binary reports that version
  [ -x "$1" ] && [ "$("$1" version --short 2>/dev/null)" = "${2#v}" ]
}

docker_compose_install() {
  local v="$DOCKER_COMPOSE_VERSION" cached="$OKX_HFT_OPS_CACHE/bin/docker-compose-$DOCKER_COMPOSE_VERSION"
  if _de_compose_reports "$DOCKER_COMPOSE_PLUGIN" "$v"; then
    _de_log "compose plugin $v present: $DOCKER_COMPOSE_PLUGIN"
  else
    if ! _de_compose_reports "$cached" "$v"; then
      command -v go >/dev/null 2>&1 || { _de_die "go is needed to build Docker Compose $v"; return 1; }
      _de_log "building Docker Compose $v from github.com/docker/compose/v2@$v (a few minutes)"
      local dir src start=$SECONDS
      # `go install mod@version` refuses a module whose go.mod has exclude directives:
      # build it as the main module from a writable copy of the module cache's source.
      dir="$(cd / && GOWORK=off GOFLAGS='' go mod download -json "github.com/docker/compose/v2@$v" \
              | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')" || return 1
      [ -n "$dir" ] && [ -d "$dir" ] || { _de_die "go mod download gave no source dir for compose $v"; return 1; }
      src="$(mktemp -d)" || return 1
      cp -r "$dir/." "$src/" && chmod -R u+w "$src" || { rm -rf "$src"; return 1; }
      mkdir -p "$OKX_HFT_OPS_CACHE/bin" || { rm -rf "$src"; return 1; }
      if ! (cd "$src" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-buildvcs=false -mod=mod" nice -n 10 go build -trimpath \
              -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$v" \
              -o "$cached.tmp" ./cmd); then
        rm -rf "$src" "$cached.tmp"; _de_die "building Docker Compose $v failed"; return 1
      fi
      rm -rf "$src"
      mv -f "$cached.tmp" "$cached"
      _de_log "built Docker Compose $v in $((SECONDS - start))s: $cached"
    fi
    mkdir -p "$(dirname "$DOCKER_COMPOSE_PLUGIN")" || return 1
    install -m 0755 "$cached" "$DOCKER_COMPOSE_PLUGIN" || return 1
    _de_log "installed $DOCKER_COMPOSE_PLUGIN"
  fi
  local out
  out="$(docker compose version 2>&1)" || { _de_die "\`docker compose version\` failed: $out"; return 1; }
  _de_log "$out"
}

docker_engine_ensure() {
  docker_engine_install && docker_engine_start && docker_compose_install
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-ensure}" in
    ensure) docker_engine_ensure ;;
    install) docker_engine_install ;;
    start) docker_engine_start ;;
    compose) docker_compose_install ;;
    stop) docker_engine_stop ;;
    status) docker_engine_status ;;
    -h|--help|help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) _de_die "unknown command: $1 (ensure|install|start|compose|stop|status)"; exit 2 ;;
  esac
fi
