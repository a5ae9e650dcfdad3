#!/bin/sh
# One-shot first-run state of Superset; every step is idempotent, so the
# service runs it at every `up`.
#
# No secret is ever an argument of a command: argv is readable by every user
# of the host (ps -eo args). The admin's password and the trading database's
# URI go from the environment to Python on stdin, not through
# `superset fab create-admin|reset-password --password` (Flask-AppBuilder's
# flask_appbuilder/cli.py, which takes it as a click option) or
# `superset set-database-uri --uri` (superset/cli/main.py); the snippets do
# what those commands do, through the same calls.
set -eu
superset db upgrade

python3 - <<'PY'
import os

from superset.app import create_app

app = create_app()
with app.app_context():
    sm = app.appbuilder.sm
    e = os.environ
    name, password = e["SUPERSET_ADMIN_USER"], e["SUPERSET_ADMIN_PASSWORD"]
    user = sm.find_user(username=name)
    if user:
        # flask_appbuilder/cli.py reset-password: sm.reset_password(id, pw)
        sm.reset_password(user.id, password)
        print("admin user %s exists; its password is set from .env" % name)
    else:
        # flask_appbuilder/cli.py create-admin: sm.add_user(..., role_admin, pw)
        role = sm.find_role(sm.auth_role_admin)
        if not sm.add_user(name, "Ops", "Admin", e["SUPERSET_ADMIN_EMAIL"], role, password):
            raise SystemExit("superset-init: admin user %s could not be created" % name)
        print("admin user %s created" % name)
PY

superset init

# The trading database, registered (or updated) once its password is known.
if [ -n "${TIMESCALEDB_PASSWORD:-}" ]; then
  python3 - <<'PY'
import os
import urllib.parse as u

from superset.app import create_app

app = create_app()
with app.app_context():
    # superset/cli/main.py set-database-uri calls this function
    from superset import db
    from superset.utils.database import get_or_create_db

    e = os.environ
    uri = "postgresql+psycopg2://%s:%s@%s:%s/%s" % (
        u.quote(e["TIMESCALEDB_USER"], safe=""),
        u.quote(e["TIMESCALEDB_PASSWORD"], safe=""),
        e["TIMESCALEDB_HOST"],
        e["TIMESCALEDB_PORT"],
        u.quote(e["TIMESCALEDB_DB"], safe=""),
    )
    get_or_create_db("timescaledb", uri)
    db.session.commit()
PY
  echo "database timescaledb registered (${TIMESCALEDB_USER}@${TIMESCALEDB_HOST}:${TIMESCALEDB_PORT}/${TIMESCALEDB_DB})"
else
  echo "TIMESCALEDB_PASSWORD is empty: the trading database is not registered yet"
fi
