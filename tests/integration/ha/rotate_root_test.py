"""A SIGKILL of the active during rotate-root loses no root password in HA mode. Two brokers in HA on
one PostgreSQL storage table manage the shared PostgreSQL as a dedicated superuser whose password the
test gives away. The active is armed with CREDBROKER_CRASH_AT at one step of rotate-root (after the
WAL, after the database changed the password, after the new config was stored) and killed there by
its own crash point; the standby takes over, settles the rotation from the WAL the dead active left,
logs in as that role (pg_stat_activity shows a new session of it), issues working credentials,
rotates the root again (204), and the original password no longer logs in.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import secrets
import shutil
import sys
import tempfile
import time
import unittest

import psycopg2
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import BIN, pg_connect, pg_url, roles_with_prefix, shared_pg, wait_for  # noqa: E402
from ha_cluster import Node, drop_all, start_cluster, call as ha_call  # noqa: E402

CRASH_STEPS = ("rotate-root:after-wal", "rotate-root:after-db", "rotate-root:after-config")


class RotateRootKill(unittest.TestCase):
    def setUp(self):
        if not BIN:
            raise AssertionError("CREDBROKER_BIN is not set")
        self.pg = shared_pg()

    def logs_in(self, user, password):
        try:
            with pg_connect(self.pg, user=user, password=password):
                return True
        except psycopg2.OperationalError:
            return False

    def sessions_of(self, user):
        """Backend start times of the sessions `user` has open now."""
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute("SELECT backend_start FROM pg_stat_activity WHERE usename = %s", (user,))
            return [r[0] for r in cur.fetchall()]

    def test_sigkill_of_the_active_at_each_step_of_rotate_root(self):
        for step in CRASH_STEPS:
            with self.subTest(step=step):
                self.kill_during_rotation(step)

    def kill_during_rotation(self, step):
        tag = secrets.token_hex(3)
        table, ha_table, root, prefix = f"harr_kv_{tag}", f"harr_ha_{tag}", f"harr_root_{tag}", f"harr{tag}-"
        password = secrets.token_urlsafe(18)
        root_dir = tempfile.mkdtemp(prefix="credbroker-harr-")
        self.addCleanup(shutil.rmtree, root_dir, True)
        self.addCleanup(drop_all, self.pg, [table, ha_table], prefix, [root])
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute(f'CREATE ROLE "{root}" SUPERUSER LOGIN PASSWORD %s', (password,))
        a, b = nodes = [Node(n, root_dir, self.pg, table, ha_table) for n in ("a", "b")]
        for n in nodes:
            self.addCleanup(n.stop)
        token = start_cluster(nodes, first_env={"CREDBROKER_CRASH_AT": step})["root_token"]
        H = {"X-Vault-Token": token}

        def call(node, method, path, body=None):
            return ha_call(node, token, method, path, body)

        def ok(result):
            self.assertLess(result[0], 300, result)
            return result[1]
        ok(call(a, "POST", "sys/mounts/database", {"type": "database"}))
        ok(call(a, "POST", "database/config/pg", {
            "plugin_name": "postgresql-database-plugin", "allowed_roles": "*", "connection_url": pg_url(self.pg),
            "username": root, "password": password, "max_open_connections": 4,
            "username_template": prefix + "{{random 12}}"}))
        ok(call(a, "POST", "database/roles/app", {
            "db_name": "pg", "default_ttl": "1h", "max_ttl": "2h",
            "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                                    "VALID UNTIL '{{expiration}}';"]}))
        issued = [ok(call(a, "GET", "database/creds/app"))["data"]]

        # The armed active dies at its crash point while answering.
        with self.assertRaises(requests.RequestException):
            requests.post(f"{a.addr}/v1/database/rotate-root/pg", headers=H, timeout=30)
        self.assertEqual(a.proc.wait(timeout=30), -9, f"{step} was not reached: {a.logs()}")
        killed_at = time.time()

        # The standby takes over and manages the database as the root role again.
        wait_for(lambda: b.health() == 200, 30, "b active")
        creds = wait_for(lambda: (lambda r: r[1]["data"] if r[0] == 200 else None)(call(b, "GET", "database/creds/app")),
                         30, "creds through the new active")
        self.assertTrue(creds["username"].startswith(prefix), creds)
        self.assertTrue(self.logs_in(creds["username"], creds["password"]), "the issued credentials do not log in")
        fresh = [s for s in self.sessions_of(root) if s.timestamp() > killed_at - 1]
        self.assertTrue(fresh, f"no new session of {root} after the takeover")
        issued.append(creds)
        if step == "rotate-root:after-db":
            # Only the WAL knew the password the database had: the new active took it from there.
            self.assertIn("finished from its WAL (the database had the new password)", b.logs())

        # The new active rotates again; afterwards only the broker knows the root password.
        self.assertEqual(call(b, "POST", "database/rotate-root/pg")[0], 204)
        self.assertFalse(self.logs_in(root, password), "the original root password still logs in")
        creds = ok(call(b, "GET", "database/creds/app"))["data"]
        self.assertTrue(self.logs_in(creds["username"], creds["password"]))
        issued.append(creds)
        cfg = ok(call(b, "GET", "database/config/pg"))["data"]
        self.assertNotIn("password", cfg["connection_details"])
        ok(call(b, "PUT", "sys/leases/revoke-prefix/database/creds/app"))
        self.assertEqual(roles_with_prefix(self.pg, prefix), [])
        for n in nodes:
            logs = n.logs()
            for secret in [password] + [c["password"] for c in issued]:
                self.assertNotIn(secret, logs)
        print(f"\n{step}: the active killed there; the standby took over, settled the WAL and rotated again")


if __name__ == "__main__":
    unittest.main()
