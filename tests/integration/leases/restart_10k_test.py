"""The broker killed with SIGKILL while it holds 10,000 leases on the real PostgreSQL: after a
restart every lease is there, and the leases that expired while it was down are revoked (their roles
dropped) within seconds; the API answers while the leases are being restored.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import re
import secrets
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker, configure_postgres, pg_connect, roles_with_prefix, shared_pg, wait_for  # noqa: E402

LONG = 9000   # leases that outlive the outage
SHORT = 1000  # leases that expire while the broker is down
SHORT_TTL = 6


class RestartWith10kLeases(unittest.TestCase):
    def issue(self, broker, role, n):
        made = []
        lock = threading.Lock()
        local = threading.local()

        def one(_):
            s = getattr(local, "s", None) or requests.Session()
            local.s = s
            r = s.get(f"{broker.addr}/v1/database/creds/{role}", headers={"X-Vault-Token": broker.root_token}, timeout=60)
            self.assertEqual(r.status_code, 200, r.text)
            body = r.json()
            with lock:
                made.append((body["lease_id"], body["data"]["username"]))

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(one, range(n)))
        return made

    def test_sigkill_holding_10k_leases_then_restart(self):
        pg = shared_pg()
        tag = secrets.token_hex(3)
        broker = Broker({"lease_revocation": {"backoff_base": "1s", "backoff_cap": "2s"}})
        self.addCleanup(broker.destroy)
        broker.start()
        client = broker.client()
        client.sys.enable_secrets_engine("database")
        # Cheap users (no password hashing) so 10k of them take seconds, with a fast revocation.
        configure_postgres(client, "pg", pg, username_template=f"r10k{tag}-{{{{.RoleName}}}}-{{{{random 16}}}}",
                           max_open_connections=8)
        for role, ttl in (("long", "1h"), ("short", SHORT_TTL)):
            client.secrets.database.create_role(
                name=role, db_name="pg", default_ttl=ttl,
                creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN VALID UNTIL '{{expiration}}';"],
                revocation_statements=["DROP ROLE IF EXISTS \"{{name}}\";"])
        self.addCleanup(self.drop_leftovers, pg, f"r10k{tag}-")

        long = self.issue(broker, "long", LONG)
        short = self.issue(broker, "short", SHORT)
        issued_short_at = time.time()
        broker.kill()
        self.assertEqual(len(roles_with_prefix(pg, f"r10k{tag}-long-")), LONG)
        self.assertEqual(len(roles_with_prefix(pg, f"r10k{tag}-short-")), SHORT)
        # Down until every short lease is past its expiry.
        time.sleep(max(0.0, issued_short_at + SHORT_TTL + 1 - time.time()))

        restarted = time.time()
        broker.start()
        # Every long lease is found (the listing reads storage; it does not wait for the restore).
        status, listed = broker.call("LIST", "sys/leases/lookup/database/creds/long/")
        self.assertEqual(status, 200)
        self.assertEqual(sorted(listed["data"]["keys"]), sorted(l.rsplit("/", 1)[1] for l, _ in long))
        status, one = broker.call("PUT", "sys/leases/lookup", {"lease_id": long[0][0]})
        self.assertEqual(status, 200, one)
        self.assertGreater(one["data"]["ttl"], 3000)
        # The expired ones are revoked within seconds of the restart.
        wait_for(lambda: roles_with_prefix(pg, f"r10k{tag}-short-") == [], 30, "short leases revoked after the restart")
        revoked_after = time.time() - restarted
        self.assertLess(revoked_after, 15, f"expired leases took {revoked_after:.1f}s to be revoked")
        wait_for(lambda: broker.call("LIST", "sys/leases/lookup/database/creds/short/")[0] == 404, 15,
                 "short lease records removed")
        self.assertEqual(len(roles_with_prefix(pg, f"r10k{tag}-long-")), LONG)  # nothing else was touched
        restored = re.findall(r"restored (\d+) leases in ([0-9.]+)s", broker.all_logs())
        self.assertTrue(restored)
        self.assertEqual(int(restored[-1][0]), LONG + SHORT)
        print(f"\n10k leases: restore {restored[-1][1]} s, expired leases revoked {revoked_after:.1f} s after restart",
              file=sys.stderr)
        # Revocation of the rest still works (sync=false: the expiry driver revokes them, 8 at a time).
        status, _ = broker.call("PUT", "sys/leases/revoke-prefix/database/creds/long", {"sync": False})
        self.assertEqual(status, 202)
        wait_for(lambda: roles_with_prefix(pg, f"r10k{tag}-long-") == [], 120, "long leases revoked")

    @staticmethod
    def drop_leftovers(pg, prefix):
        with pg_connect(pg) as c, c.cursor() as cur:
            for name in roles_with_prefix(pg, prefix):
                cur.execute(f'DROP ROLE IF EXISTS "{name}"')


if __name__ == "__main__":
    unittest.main()
