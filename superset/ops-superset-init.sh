#!/bin/sh
# One-shot first-run state of Superset; every step is idempotent, so the
# service runs it at every `up`.
set -eu
superset db upgrade
if superset fab list-users 2>/dev/null | grep -q "username:${SUPERSET_ADMIN_USER} "; then
  echo "admin user ${SUPERSET_ADMIN_USER} exists; setting its password from .env"
  superset fab reset-password --username "${SUPERSET_ADMIN_USER}" --password "${SUPERSET_ADMIN_PASSWORD}"
else
  superset fab create-admin \
    --username "${SUPERSET_ADMIN_USER}" \
    --firstname Ops --lastname Admin \
    --email "${SUPERSET_ADMIN_EMAIL}" \
    --password "${SUPERSET_ADMIN_PASSWORD}"
fi
superset init

# The trading database, registered (or updated) once its password is known.
if [ -n "${TIMESCALEDB_PASSWORD:-}" ]; then
  uri=$(python3 -c 'import os, urllib.parse as u; e = os.environ; print("postgresql+psycopg2://%s:%s@%s:%s/%s" % (u.quote(e["TIMESCALEDB_USER"], safe=""), u.quote(e["TIMESCALEDB_PASSWORD"], safe=""), e["TIMESCALEDB_HOST"], e["TIMESCALEDB_PORT"], u.quote(e["TIMESCALEDB_DB"], safe="")))')
  superset set-database-uri --database_name timescaledb --uri "$uri"
  echo "database timescaledb registered (${TIMESCALEDB_USER}@${TIMESCALEDB_HOST}:${TIMESCALEDB_PORT}/${TIMESCALEDB_DB})"
else
  echo "TIMESCALEDB_PASSWORD is empty: the trading database is not registered yet"
fi
