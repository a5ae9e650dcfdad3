"""The Airflow admin from .env, created or brought up to date at every `up`
(airflow-init in compose.yaml): the user AIRFLOW_ADMIN_USER with the role
Admin and the password AIRFLOW_ADMIN_PASSWORD, read from the environment.
`airflow users create --password` would put the password into a process
argument, readable by every user of the host; this does what that command
does (airflow/providers/fab/auth_manager/cli_commands/user_command.py)
without it.
"""

import os
import sys

from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder


def main() -> int:
    missing = [k for k in ("AIRFLOW_ADMIN_USER", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_ADMIN_EMAIL") if not os.environ.get(k)]
    if missing:
        print(f"ops-airflow-admin: {', '.join(missing)} empty in .env: set them (opsctl init generates the password)", file=sys.stderr)
        return 2
    user, password, email = os.environ["AIRFLOW_ADMIN_USER"], os.environ["AIRFLOW_ADMIN_PASSWORD"], os.environ["AIRFLOW_ADMIN_EMAIL"]
    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        role = sm.find_role("Admin")
        if role is None:
            print("ops-airflow-admin: no role Admin: did `airflow db migrate` run?", file=sys.stderr)
            return 1
        found = sm.find_user(username=user)
        if found is None:
            if not sm.add_user(user, "Ops", "Admin", email, role, password):
                print(f"ops-airflow-admin: creating the user {user!r} failed", file=sys.stderr)
                return 1
            print(f"ops-airflow-admin: created {user!r} with the role Admin")
            return 0
        if not sm.reset_password(found.id, password):
            print(f"ops-airflow-admin: setting the password of {user!r} failed", file=sys.stderr)
            return 1
        if role not in found.roles:
            found.roles.append(role)
            sm.update_user(found)
        print(f"ops-airflow-admin: {user!r} has the password of .env and the role Admin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
