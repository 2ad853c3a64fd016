"""An active paused in the middle of a revocation transaction does not make the revocation run
twice. Two brokers in HA on one PostgreSQL storage table; the role's revocation statements count
themselves in a table, then sleep, then drop the user; they travel as one query, which PostgreSQL
runs to its commit whatever the client does. The active is stopped with SIGSTOP while PostgreSQL
sleeps inside that transaction (the count inserted, not committed); the standby takes over after
the leadership's TTL and is asked to revoke the same lease: the lease is inherited, so it first ends
the paused process's database sessions (the sleeping transaction rolls back) and then revokes. The
statements count once, the user is gone, the lease too, also after SIGCONT. Without ending those
sessions both transactions would commit their count.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import BIN, pg_connect, pg_url, roles_with_prefix, shared_pg, wait_for  # noqa: E402
from ha_cluster import TTL_S, Node, drop_all, start_cluster, call as ha_call  # noqa: E402

SLEEP_S = 8  # pg_sleep inside the revocation transaction (longer than the takeover)


class PausedInARevocation(unittest.TestCase):
    def test_sigstop_inside_the_revocation_transaction_then_takeover(self):
        if not BIN:
            raise AssertionError("CREDBROKER_BIN is not set")
        pg = shared_pg()
        tag = secrets.token_hex(3)
        table, ha_table, counted, prefix = f"harp_kv_{tag}", f"harp_ha_{tag}", f"harp_counted_{tag}", f"harp{tag}-"
        root_dir = tempfile.mkdtemp(prefix="credbroker-harp-")
        self.addCleanup(shutil.rmtree, root_dir, True)
        self.addCleanup(drop_all, pg, [table, ha_table, counted], prefix)
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f"CREATE TABLE {counted} (name text NOT NULL)")
        a, b = nodes = [Node(n, root_dir, pg, table, ha_table) for n in ("a", "b")]
        for n in nodes:
            self.addCleanup(n.stop)
        token = start_cluster(nodes)["root_token"]

        def call(node, method, path, body=None, timeout=30):
            return ha_call(node, token, method, path, body, timeout)

        def ok(result):
            self.assertLess(result[0], 300, result)
            return result[1]
        ok(call(a, "POST", "sys/mounts/database", {"type": "database"}))
        ok(call(a, "POST", "database/config/pg", {
            "plugin_name": "postgresql-database-plugin", "allowed_roles": "*", "connection_url": pg_url(pg),
            "username": pg["user"], "password": pg["password"], "username_template": prefix + "{{random 12}}"}))
        ok(call(a, "POST", "database/roles/app", {
            "db_name": "pg", "default_ttl": "1h", "max_ttl": "2h",
            "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                                    "VALID UNTIL '{{expiration}}';"],
            "revocation_statements": [f"INSERT INTO {counted} (name) VALUES ('{{{{name}}}}');",
                                      f"SELECT pg_sleep({SLEEP_S});", "DROP ROLE IF EXISTS \"{{name}}\";"]}))
        creds = ok(call(a, "GET", "database/creds/app"))
        lease, user, password = creds["lease_id"], creds["data"]["username"], creds["data"]["password"]

        # The revocation through the active; stopped while PostgreSQL sleeps in its transaction.
        threading.Thread(target=lambda: self.quietly(call, a, "PUT", "sys/leases/revoke", {"lease_id": lease}),
                         daemon=True).start()
        wait_for(lambda: self.sleeping(pg, counted), 10, "the revocation transaction sleeping in PostgreSQL")
        a.signal(signal.SIGSTOP)
        stopped = time.monotonic()
        wait_for(lambda: b.health() == 200, TTL_S + 15, "b active while a is stopped")

        # The new active revokes the inherited lease while a's transaction is still open.
        self.assertEqual(call(b, "PUT", "sys/leases/revoke", {"lease_id": lease}, timeout=60)[0], 204)
        self.assertEqual(call(b, "PUT", "sys/leases/lookup", {"lease_id": lease})[0], 400)
        self.assertEqual(roles_with_prefix(pg, user), [])

        # The former active resumes after its sleep would have ended: nothing of it commits now.
        time.sleep(max(0.0, SLEEP_S + 1 - (time.monotonic() - stopped)))
        a.signal(signal.SIGCONT)
        wait_for(lambda: a.health() == 429, 15, "a a standby again")
        time.sleep(1)
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {counted} WHERE name = %s", (user,))
            self.assertEqual(cur.fetchone()[0], 1, "the revocation statements committed twice")
        self.assertEqual(roles_with_prefix(pg, prefix), [])
        for n in nodes:
            self.assertNotIn(password, n.logs())
        print(f"\npaused inside its revocation transaction: the new active ended its sessions and revoked once")

    @staticmethod
    def quietly(f, *args):
        try:
            f(*args, timeout=60)
        except requests.RequestException:
            pass

    @staticmethod
    def sleeping(pg, counted):
        with pg_connect(pg) as c, c.cursor() as cur:
            # The statements travel as one query: PostgreSQL runs it (and commits) without the client.
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND state = 'active' AND "
                        "application_name LIKE 'credbroker:%%'", (f"INSERT INTO {counted} %",))
            return cur.fetchone()[0] > 0


if __name__ == "__main__":
    unittest.main()
