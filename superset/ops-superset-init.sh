#!/bin/sh
# One-shot first-run state of Superset; every step is idempotent, so the
# service runs it at every `up`.
set -eu
superset db upgrade
if superset fab list-users 2>/dev/null | grep -q "username:${SUPERSET_ADMIN_USER} "; then
  echo "admin user ${SUPERSET_ADMIN_USER} exists; resetting its password from .env"
  superset fab reset-password --username "${SUPERSET_ADMIN_USER}" --password "${SUPERSET_ADMIN_PASSWORD}"
else
  superset fab create-admin \
    --username "${SUPERSET_ADMIN_USER}" \
    --firstname Ops --lastname Admin \
    --email "${SUPERSET_ADMIN_EMAIL}" \
    --password "${SUPERSET_ADMIN_PASSWORD}"
fi
superset init
