#!/usr/bin/env bash
# Smoke-test the local images that build-images.sh made: each reports the expected
# version, has the tools compose healthchecks call (wget, pg_isready), and the servers
# answer their health endpoints. Ends with "N passed, N failed"; exits 1 on any failure.
#
# Usage: test/stack/check-images.sh        (needs a running Docker daemon and the images)
set -uo pipefail

PASS=0; FAIL=0; CONTAINERS=()
cleanup() { local c; for c in "${CONTAINERS[@]:-}"; do [ -n "$c" ] && docker rm -f "$c" >/dev/null 2>&1; done; }
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); printf 'ok     %s\n' "$1"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'FAILED %s\n' "$1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | tail -n 5 | sed 's/^/       | /'; }

# expect NAME SUBSTRING CMD...: CMD's output (stdout+stderr) contains SUBSTRING
expect() {
  local name="$1" want="$2" out
  shift 2
  out="$("$@" 2>&1)"
  if [[ "$out" == *"$want"* ]]; then ok "$name"; else not_ok "$name (wanted \"$want\")" "$out"; fi
}

# serve NAME IMAGE PROBE_CMD -- RUN_ARGS...: start IMAGE, then run PROBE_CMD (a string for
# `docker exec sh -c`) until it succeeds, 60 s at most
serve() {
  local name="$1" image="$2" probe="$3" c i
  shift 4
  c="okx-check-$name-$$"
  CONTAINERS+=("$c")
  if ! docker run -d --name "$c" "$image" "$@" >/dev/null 2>&1; then
    not_ok "$name: starts" "$(docker run --rm "$image" "$@" 2>&1 | tail -n 5)"; return
  fi
  for i in $(seq 60); do
    if docker exec "$c" sh -c "$probe" >/dev/null 2>&1; then ok "$name: $probe (after ${i}s)"; return; fi
    if [ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" != true ]; then break; fi
    sleep 1
  done
  not_ok "$name: $probe" "$(docker logs "$c" 2>&1)"
}

docker info >/dev/null 2>&1 || { echo "no Docker daemon answers (bash .ci/lib/docker-engine.sh start)" >&2; exit 1; }

expect "debian: Debian 12" "12." docker run --rm okx-local/debian:bookworm cat /etc/debian_version
expect "busybox: wget" "BusyBox" docker run --rm okx-local/busybox:bookworm wget --help
expect "prometheus --version" "prometheus, version 3.15.0" docker run --rm okx-local/prometheus:v3.15.0 --version
expect "promtool --version" "promtool, version 3.15.0" docker run --rm --entrypoint promtool okx-local/prometheus:v3.15.0 --version
expect "promtool check config (image default)" "SUCCESS" docker run --rm --entrypoint promtool okx-local/prometheus:v3.15.0 check config /etc/prometheus/prometheus.yml
expect "alertmanager --version" "alertmanager, version 0.34.1" docker run --rm okx-local/alertmanager:v0.34.1 --version
expect "amtool --version" "amtool, version 0.34.1" docker run --rm --entrypoint amtool okx-local/alertmanager:v0.34.1 --version
expect "node_exporter --version" "node_exporter, version 1.12.1" docker run --rm okx-local/node-exporter:v1.12.1 --version
expect "weed version (4.53: the only served module version)" "4.53" docker run --rm okx-local/seaweedfs:4.48 version
expect "seaweedfs: wget" "BusyBox" docker run --rm --entrypoint wget okx-local/seaweedfs:4.48 --help
expect "seaweedfs: curl" "curl" docker run --rm --entrypoint curl okx-local/seaweedfs:4.48 --version
expect "nginx -v (Debian 1.22)" "nginx/1.22" docker run --rm okx-local/nginx:1.30.5-alpine nginx -v
expect "nginx -t" "test is successful" docker run --rm okx-local/nginx:1.30.5-alpine nginx -t
expect "nginx: mime.types" "/etc/nginx/mime.types" docker run --rm okx-local/nginx:1.30.5-alpine ls /etc/nginx/mime.types
expect "postgres --version" "(PostgreSQL) 15." docker run --rm okx-local/postgres:15 postgres --version
expect "postgres: pg_isready" "pg_isready (PostgreSQL) 15" docker run --rm okx-local/postgres:15 pg_isready --version
expect "python-base: python 3.11" "Python 3.11" docker run --rm okx-local/python-base:bookworm python3 --version
expect "python-base: pip in /opt/venv" "/opt/venv" docker run --rm okx-local/python-base:bookworm pip --version
expect "python-base: wget" "BusyBox" docker run --rm okx-local/python-base:bookworm wget --help

serve prometheus okx-local/prometheus:v3.15.0 \
  'wget -q --spider http://127.0.0.1:9090/prometheus/-/healthy' -- \
  --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus \
  --web.external-url=http://localhost:8080/prometheus/
serve alertmanager okx-local/alertmanager:v0.34.1 \
  'wget -q --spider http://127.0.0.1:9093/alertmanager/-/healthy' -- \
  --config.file=/etc/alertmanager/alertmanager.yml --storage.path=/alertmanager \
  --web.external-url=http://localhost:8080/alertmanager/
serve node-exporter okx-local/node-exporter:v1.12.1 \
  'wget -q -O- http://127.0.0.1:9100/metrics | grep -q ^node_uname_info' --
serve seaweedfs okx-local/seaweedfs:4.48 \
  'wget -q -O /dev/null http://127.0.0.1:9000/healthz' -- \
  mini -dir=/data -s3.port=9000 -master.telemetry=false -bucket=mlflow
serve nginx okx-local/nginx:1.30.5-alpine 'wget -q --spider http://127.0.0.1:80/' --
c="okx-check-postgres-$$"
CONTAINERS+=("$c")
if docker run -d --name "$c" -e POSTGRES_USER=hft -e POSTGRES_PASSWORD=check-password-123 \
     -e POSTGRES_DB=market okx-local/postgres:15 >/dev/null; then
  for i in $(seq 60); do
    docker exec "$c" pg_isready -q -U hft -d market -h 127.0.0.1 >/dev/null 2>&1 && break
    sleep 1
  done
  expect "postgres: pg_isready -U hft -d market (after ${i}s)" "accepting connections" \
    docker exec "$c" pg_isready -U hft -d market -h 127.0.0.1
  expect "postgres: database created from POSTGRES_DB" "market" \
    docker exec -e PGPASSWORD=check-password-123 "$c" psql -h 127.0.0.1 -U hft -d market -Atc 'select current_database()'
  # As in the official image, connections from inside the container are trusted: try the
  # wrong password from another container.
  ip="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$c")"
  expect "postgres: right password accepted from another container" "market" \
    docker run --rm -e PGPASSWORD=check-password-123 okx-local/postgres:15 psql -h "$ip" -U hft -d market -Atc 'select current_database()'
  expect "postgres: wrong password refused from another container" "password authentication failed" \
    docker run --rm -e PGPASSWORD=wrong okx-local/postgres:15 psql -h "$ip" -U hft -d market -Atc 'select 1'
else
  not_ok "postgres: starts"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
