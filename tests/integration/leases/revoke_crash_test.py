"""A revocation cut between the database and the lease record: the broker is killed (crash point
revoke:after-db, CREDBROKER_CRASH_AT) after PostgreSQL ran the revocation statements and before the
record was deleted, once for a revoke through the API and once for an expiry. The next process
inherits the record of a user that is gone: it removes the record without running the statements
again (they count themselves in a table: exactly once), and no issued password is in any log.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import secrets
import sys
import unittest

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker, configure_postgres, pg_connect, roles_with_prefix, shared_pg, wait_for  # noqa: E402

CRASH = {"CREDBROKER_CRASH_AT": "revoke:after-db"}


class RevocationCutByACrash(unittest.TestCase):
    def setUp(self):
        self.pg = shared_pg()
        tag = secrets.token_hex(3)
        self.prefix, self.table = f"rvk{tag}-", f"rvk_counted_{tag}"
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute(f"CREATE TABLE {self.table} (name text NOT NULL)")
            cur.execute(f"GRANT INSERT ON {self.table} TO PUBLIC")
        self.addCleanup(self.drop_all)
        self.broker = Broker()
        self.addCleanup(self.broker.destroy)
        self.broker.start()
        client = self.broker.client()
        client.sys.enable_secrets_engine("database")
        configure_postgres(client, "pg", self.pg, username_template=self.prefix + "{{.RoleName}}-{{random 12}}")
        revoke = [f"INSERT INTO {self.table} (name) VALUES ('{{{{name}}}}');", "DROP ROLE IF EXISTS \"{{name}}\";"]
        for role, ttl in (("app", "1h"), ("short", "3s")):
            client.secrets.database.create_role(
                name=role, db_name="pg", default_ttl=ttl, revocation_statements=revoke,
                creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"])
        self.passwords = []

    def drop_all(self):
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.table}")
            for name in roles_with_prefix(self.pg, self.prefix):
                cur.execute(f'DROP ROLE IF EXISTS "{name}"')

    def issue(self, role):
        status, body = self.broker.call("GET", f"database/creds/{role}")
        self.assertEqual(status, 200, body)
        self.passwords.append(body["data"]["password"])
        return body["lease_id"], body["data"]["username"]

    def counted(self, user):
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {self.table} WHERE name = %s", (user,))
            return cur.fetchone()[0]

    def lookup(self, lease):
        return self.broker.call("PUT", "sys/leases/lookup", {"lease_id": lease})[0]

    def restart(self, env=None):
        self.broker.stop()
        self.broker.start(env)

    def assert_once_and_clean(self, lease, user):
        self.assertEqual(roles_with_prefix(self.pg, user), [])
        self.assertEqual(self.counted(user), 1, "the revocation statements ran again")
        logs = self.broker.all_logs()
        for p in self.passwords:
            self.assertNotIn(p, logs)

    def test_revoke_through_the_api(self):
        lease, user = self.issue("app")
        self.restart(CRASH)
        with self.assertRaises(requests.RequestException):
            self.broker.session.put(f"{self.broker.addr}/v1/sys/leases/revoke", json={"lease_id": lease},
                                    headers={"X-Vault-Token": self.broker.root_token}, timeout=30)
        self.broker.wait_dead()
        self.assertEqual(self.counted(user), 1)
        self.broker.start()
        self.assertEqual(self.lookup(lease), 200, "the record outlived the crash: the next process inherits it")
        self.assertEqual(self.broker.call("PUT", "sys/leases/revoke", {"lease_id": lease})[0], 204)
        self.assertEqual(self.lookup(lease), 400)
        self.assertIn(f"lease {lease}: its user is gone already", self.broker.all_logs())
        self.assert_once_and_clean(lease, user)

    def test_expiry(self):
        self.restart(CRASH)
        lease, user = self.issue("short")
        # The expiry revokes it and the crash point ends the process.
        self.broker.wait_dead(timeout=30)
        self.assertEqual(self.counted(user), 1)
        self.broker.start()
        wait_for(lambda: self.lookup(lease) == 400, 30, "the inherited record removed")
        self.assert_once_and_clean(lease, user)


if __name__ == "__main__":
    unittest.main(verbosity=2)
