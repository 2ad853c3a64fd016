"""The PostgreSQL plugin under contention and connection exhaustion, through the real server (issue 14):
concurrent issuance for roles that GRANT on one shared table all succeeds (the "tuple concurrently
updated" conflicts are retried); a database out of connection slots gets them back from the broker's
pool (after "too many clients" the idle sessions are closed, so the DBA can log in again, superuser
reserve included); and a pool that holds every slot can be lowered by a config update, which needs
no new login. Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import secrets
import sys
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import (Broker, PgCluster, configure_postgres, pg_connect, roles_with_prefix, shared_pg,  # noqa: E402
                    wait_for)


def creds_concurrently(broker, role, n, workers):
    """n creds calls on `workers` threads: the list of (status, body)."""
    local = threading.local()

    def one(_):
        s = getattr(local, "s", None) or requests.Session()
        local.s = s
        r = s.get(f"{broker.addr}/v1/database/creds/{role}", headers={"X-Vault-Token": broker.root_token}, timeout=120)
        return r.status_code, r.json()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


class GrantsOnOneTable(unittest.TestCase):
    def test_200_concurrent_creds_granting_on_one_table_all_succeed(self):
        pg = shared_pg()
        schema = "gr_" + secrets.token_hex(4)
        prefix = "gr" + secrets.token_hex(3) + "-"
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{schema}"')
            cur.execute(f'CREATE TABLE "{schema}".shared (x int)')

        def drop():
            with pg_connect(pg) as c, c.cursor() as cur:
                for name in roles_with_prefix(pg, prefix):
                    cur.execute(f'DROP OWNED BY "{name}"')
                    cur.execute(f'DROP ROLE "{name}"')
                cur.execute(f'DROP SCHEMA "{schema}" CASCADE')

        self.addCleanup(drop)
        broker = Broker().start()
        self.addCleanup(broker.destroy)
        client = broker.client()
        client.sys.enable_secrets_engine("database")
        configure_postgres(client, "pg", pg, username_template=prefix + "{{random 20}}")
        client.secrets.database.create_role(
            name="granting", db_name="pg", default_ttl="1h",
            creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
                                 f'GRANT USAGE ON SCHEMA "{schema}" TO "{{{{name}}}}";',
                                 f'GRANT SELECT ON "{schema}".shared TO "{{{{name}}}}";'])
        results = creds_concurrently(broker, "granting", 200, 32)
        failures = [body for status, body in results if status != 200]
        self.assertEqual(failures, [], f"{len(failures)} of 200 failed")
        self.assertEqual(len(roles_with_prefix(pg, prefix)), 200)
        body = results[0][1]
        with pg_connect(pg, user=body["data"]["username"], password=body["data"]["password"]) as c, c.cursor() as cur:
            cur.execute(f'SELECT count(*) FROM "{schema}".shared')
        # Revoking them all at once REVOKEs on the same table concurrently: retried the same way.
        status, out = broker.call("PUT", "sys/leases/revoke-prefix/database/creds/granting")
        self.assertEqual(status, 204, out)
        self.assertEqual(roles_with_prefix(pg, prefix), [])
        logs = broker.all_logs()
        self.assertNotIn(body["data"]["password"], logs)


class ConnectionExhaustion(unittest.TestCase):
    """A private PostgreSQL with max_connections = 8 (3 of them reserved for superusers); the broker
    logs in as a superuser, so it can take every slot."""

    def setUp(self):
        self.cluster = PgCluster()
        self.addCleanup(self.cluster.destroy)
        self.cluster.stop()
        with open(os.path.join(self.cluster.data, "postgresql.conf"), "a") as f:
            f.write("max_connections = 8\nsuperuser_reserved_connections = 3\n")
        self.cluster.start()
        self.broker = Broker().start()
        self.addCleanup(self.broker.destroy)
        self.client = self.broker.client()
        self.client.sys.enable_secrets_engine("database")

    def configure(self, max_open):
        configure_postgres(self.client, "pg", self.cluster.settings, max_open_connections=max_open, connect_timeout=3)
        self.client.secrets.database.create_role(
            name="slow", db_name="pg", default_ttl="1h",
            creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';", "SELECT pg_sleep(1);"])

    def dba_logs_in(self):
        try:
            with pg_connect(self.cluster.observer) as c, c.cursor() as cur:
                cur.execute("SELECT 1")
            return True
        except psycopg2.OperationalError:
            return False

    def broker_sessions(self):
        with pg_connect(self.cluster.observer) as c, c.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'credbroker%%'")
            return cur.fetchone()[0]

    def test_after_too_many_clients_the_pool_gives_the_slots_back(self):
        self.configure(max_open=12)
        results = creds_concurrently(self.broker, "slow", 12, 12)
        statuses = [s for s, _ in results]
        self.assertIn(200, statuses)
        refused = [b for s, b in results if s != 200]
        self.assertTrue(refused, "the database never ran out of slots: nothing was tested")
        self.assertTrue(any("too many clients" in b["errors"][0] or "reserved" in b["errors"][0] for b in refused), refused)
        # The calls are over: the DBA (superuser, over the local socket) can log in again at once.
        wait_for(self.dba_logs_in, 5, "the DBA logging in after the burst")
        self.assertEqual(self.broker_sessions(), 0, "the pool kept idle sessions after the database ran out of slots")
        # Issuance works again.
        status, body = self.broker.call("GET", "database/creds/slow")
        self.assertEqual(status, 200, body)

    def test_a_pool_holding_every_slot_can_be_lowered_without_a_new_login(self):
        self.configure(max_open=8)
        results = creds_concurrently(self.broker, "slow", 8, 8)
        self.assertEqual([s for s, _ in results], [200] * 8)
        self.assertFalse(self.dba_logs_in(), "the pool was expected to hold every slot")
        # Lowering the pool: no verification login (there is no slot for one), the old pool closes.
        status, body = self.broker.call("POST", "database/config/pg", {"max_open_connections": 2})
        self.assertEqual(status, 204, body)
        wait_for(self.dba_logs_in, 5, "the DBA logging in after the pool was lowered")
        status, body = self.broker.call("GET", "database/config/pg")
        self.assertEqual(body["data"]["connection_details"]["max_open_connections"], 2)
        results = creds_concurrently(self.broker, "slow", 4, 4)
        self.assertEqual([s for s, _ in results], [200] * 4)
        self.assertLessEqual(self.broker_sessions(), 2)


if __name__ == "__main__":
    unittest.main()
