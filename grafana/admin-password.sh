#!/bin/sh
# grafana-init (compose.yaml): sets the Grafana admin's password from .env
# before Grafana starts. Grafana reads GF_SECURITY_ADMIN_PASSWORD only when
# it creates the admin, on its first start; without this job a password
# changed in .env later would lock `opsctl doctor` (and you) out.
#
# Grafana's own tool does it: `grafana cli admin reset-admin-password`
# (pkg/cmd/grafana-cli/commands/reset_password_command.go). It resets user
# id 1, the admin created on the first start; it does not rename it, so
# GRAFANA_ADMIN_USER is the login name only on that first start. The
# password goes in on stdin (--password-from-stdin), never as an argument:
# printf is a builtin of the shell, so no process shows it. The command
# exits 0 on some failures (admin not found, database locked), so success
# is read from its output.
set -u
data="${GF_PATHS_DATA:-/var/lib/grafana}"
if [ ! -f "$data/grafana.db" ]; then
  echo "grafana-init: no $data/grafana.db yet: Grafana creates the admin from .env on its first start"
  exit 0
fi
tries=0
while :; do
  out=$(printf '%s\n' "$GF_SECURITY_ADMIN_PASSWORD" | grafana cli \
    --homepath "${GF_PATHS_HOME:-/usr/share/grafana}" \
    --config "${GF_PATHS_CONFIG:-/etc/grafana/grafana.ini}" \
    admin reset-admin-password --password-from-stdin 2>&1)
  case "$out" in
    *"Admin password changed successfully"*)
      echo "grafana-init: the admin's password is GRAFANA_ADMIN_PASSWORD of .env"
      exit 0 ;;
  esac
  # A running Grafana (a second `up` restarts only this job) may hold its
  # SQLite file for a moment: try again.
  tries=$((tries + 1))
  if [ "$tries" -ge 5 ]; then
    printf '%s\n' "$out"
    echo "grafana-init: grafana cli admin reset-admin-password did not succeed after $tries tries (output above)"
    exit 1
  fi
  sleep "${GRAFANA_INIT_RETRY_SECONDS:-3}"
done
