"""Superset configuration of the ops node.

Every secret comes from the environment (.env through compose.yaml); a
missing one stops Superset at start instead of running with a default.
"""

import os


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: run `opsctl init` to fill .env")
    return value


SECRET_KEY = _required("SUPERSET_SECRET_KEY")

# Metadata database: SQLite on the superset_home volume by default.
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_DATABASE_URI", "sqlite:////app/superset_home/superset.db"
)

# Served by nginx under /superset/ (SUPERSET_APP_ROOT); trust the proxy's
# X-Forwarded-* headers so redirects keep the public host, scheme and prefix.
ENABLE_PROXY_FIX = True
PROXY_FIX_CONFIG = {"x_for": 1, "x_proto": 1, "x_host": 1, "x_port": 1, "x_prefix": 1}

SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
WTF_CSRF_ENABLED = True
TALISMAN_ENABLED = False  # security headers are set by the proxy

FEATURE_FLAGS = {"ALERT_REPORTS": False}
