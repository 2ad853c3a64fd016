"""A broker on PostgreSQL storage (storage "postgresql" in its config) issues credentials from 16
concurrent clients and is killed with SIGKILL in the middle of it; after a restart on the same table
every lease whose creds request was answered is there, and no role of the test is left without a
lease. Then once more with the broker idle. The storage password never appears in the logs.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import secrets
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker, configure_postgres, pg_connect, roles_with_prefix, shared_pg, wait_for  # noqa: E402


class PostgresqlStorageRestart(unittest.TestCase):
    def test_sigkill_during_issuance_loses_no_acknowledged_lease(self):
        pg = shared_pg()
        tag = secrets.token_hex(3)
        table = f"restart_kv_{tag}"
        url = f"postgresql://{pg['user']}:{pg['password']}@{pg['host']}:{pg['port']}/{pg['dbname']}"
        broker = Broker({"storage": {"postgresql": {"connection_url": url, "table": table, "max_parallel": "16"}}})
        self.addCleanup(broker.destroy)
        self.addCleanup(self.drop, pg, table, f"pgst{tag}-")
        broker.start()
        client = broker.client()
        client.sys.enable_secrets_engine("database")
        configure_postgres(client, "pg", pg, username_template=f"pgst{tag}-{{{{random 12}}}}", max_open_connections=8)
        client.secrets.database.create_role(
            name="app", db_name="pg", default_ttl="1h",
            creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN VALID UNTIL '{{expiration}}';"],
            revocation_statements=["DROP ROLE IF EXISTS \"{{name}}\";"])
        status, seal = broker.call("GET", "sys/seal-status")
        self.assertEqual(seal["storage_type"], "postgresql")

        acked = []
        lock = threading.Lock()
        stop = threading.Event()
        local = threading.local()

        def issue(_):
            s = getattr(local, "s", None) or requests.Session()
            local.s = s
            while not stop.is_set():
                try:
                    r = s.get(f"{broker.addr}/v1/database/creds/app", headers={"X-Vault-Token": broker.root_token},
                              timeout=30)
                except requests.RequestException:
                    return  # the broker died under us: this request was not answered
                if r.status_code == 200:
                    with lock:
                        acked.append(r.json()["lease_id"])

        with ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(issue, i) for i in range(16)]
            wait_for(lambda: len(acked) >= 300, 120, "300 answered creds requests")
            broker.kill()
            stop.set()
            for f in futures:
                f.result()
        answered = list(acked)

        broker.start()
        for round_no in range(2):
            status, listed = broker.call("LIST", "sys/leases/lookup/database/creds/app/")
            self.assertEqual(status, 200, listed)
            present = set(listed["data"]["keys"])
            missing = [l for l in answered if l.rsplit("/", 1)[1] not in present]
            self.assertEqual(missing, [], f"round {round_no}: acknowledged leases lost")
            # Every role the broker created has a lease once pending ones are settled.
            wait_for(lambda: len(roles_with_prefix(pg, f"pgst{tag}-")) <= len(self.lease_names(broker)), 60,
                     "no role without a lease")
            if round_no == 0:
                broker.kill()  # idle this time
                broker.start()
        logs = broker.all_logs()
        self.assertNotIn(pg["password"], logs)
        print(f"\n{len(answered)} answered creds requests before SIGKILL, all found after two restarts", file=sys.stderr)

    @staticmethod
    def lease_names(broker):
        status, listed = broker.call("LIST", "sys/leases/lookup/database/creds/app/")
        if status != 200:
            return []
        names = []
        for lease in listed["data"]["keys"]:
            s, body = broker.call("PUT", "sys/leases/lookup", {"lease_id": f"database/creds/app/{lease}"})
            if s == 200:
                names.append(lease)
        return names

    @staticmethod
    def drop(pg, table, prefix):
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            for name in roles_with_prefix(pg, prefix):
                cur.execute(f'DROP ROLE IF EXISTS "{name}"')


if __name__ == "__main__":
    unittest.main()
