"""README command (a), scripts/quickstart.sh, run as a newcomer runs it (on the throwaway servers the
test suite already started, with the binary already built, on a free port): it must end with a
PostgreSQL login from curl that logs in, and one from python3-hvac; its Redis role works on the
primary and the replica. Then every lease is revoked
through the API (dev mode keeps leases in memory) and the broker stopped. Issued passwords are
checked against the broker's log and never printed by this test.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import redis
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import free_port, redis_admin, redis_users, roles_with_prefix, shared_pg, shared_redis  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
BIN = os.environ.get("CREDBROKER_BIN", "")


class Quickstart(unittest.TestCase):
    def test_quickstart_ends_with_working_postgres_logins_from_curl_and_hvac(self):
        state = tempfile.mkdtemp(prefix="credbroker-quickstart-test-")
        self.addCleanup(shutil.rmtree, state, True)  # runs last: after the broker is stopped
        port = free_port()
        addr = f"http://127.0.0.1:{port}"
        env = dict(os.environ, CREDBROKER_QUICKSTART_DIR=state, CREDBROKER_QUICKSTART_ADDR=f"127.0.0.1:{port}",
                   CREDBROKER_QUICKSTART_PREBUILT="1",
                   CREDBROKER_BUILD_DIR=os.path.dirname(os.path.dirname(BIN)))
        run = subprocess.run([os.path.join(ROOT, "scripts", "quickstart.sh")], env=env, capture_output=True,
                             text=True, timeout=180)
        self.addCleanup(self.stop_broker, state, addr)
        # Never print run.stdout: it holds the issued passwords, as the user's terminal does.
        self.assertEqual(run.returncode, 0, "quickstart.sh failed: " + run.stderr[-2000:])
        token = open(os.path.join(state, "root-token")).read().strip()
        out = run.stdout
        self.assertIn(f"credbroker is running in dev mode on {addr}", out)
        # The curl credential: Vault's envelope with a lease of the app role ...
        curl_line = next((line for line in out.splitlines() if line.startswith("{") and '"lease_id"' in line), None)
        self.assertIsNotNone(curl_line, "no JSON credential in the output")
        creds = json.loads(curl_line)
        self.assertTrue(creds["lease_id"].startswith("database/creds/app/"), creds["lease_id"])
        self.assertEqual(creds["lease_duration"], 3600)
        user = creds["data"]["username"]
        # ... that psql logged in with.
        self.assertIn(f"logged in as {user}, valid until ", out)
        # The hvac credential: a second, different login.
        hvac_user = re.search(r"'username': '([^']+)'", out)
        self.assertIsNotNone(hvac_user, "no hvac credential in the output")
        self.assertNotEqual(hvac_user.group(1), user)
        pg = shared_pg()
        self.assertEqual(roles_with_prefix(pg, user), [user])
        self.assertEqual(roles_with_prefix(pg, hvac_user.group(1)), [hvac_user.group(1)])
        # The broker's log never holds the issued passwords.
        with open(os.path.join(state, "credbroker.log")) as f:
            log = f.read()
        self.assertIn("path=/v1/database/creds/app status=200", log)
        hvac_password = re.search(r"'password': '([^']+)'", out).group(1)
        for p in (creds["data"]["password"], hvac_password, token):
            self.assertTrue(p not in log, "an issued password or the root token is in the broker's log")
        # The README's scraping line: dev mode serves the metrics without a token.
        m = requests.get(f"{addr}/v1/sys/metrics", params={"format": "prometheus"}, timeout=30)
        self.assertEqual(m.status_code, 200, m.text)
        self.assertIn("\nvault_core_unsealed{cluster=", "\n" + m.text)
        leases = re.search(r"^vault_expire_num_leases (\S+)$", m.text, re.M)
        self.assertIsNotNone(leases, "no vault_expire_num_leases")
        self.assertGreaterEqual(float(leases.group(1)), 2)  # the curl and the hvac credential
        # The Redis role the script set up, as its instructions say to try: a user on the primary and
        # the replica, limited to cache:* keys.
        r = requests.get(f"{addr}/v1/database/creds/cache", headers={"X-Vault-Token": token}, timeout=30)
        self.assertEqual(r.status_code, 200, r.text)
        cache = r.json()
        rs = shared_redis()
        for node in (rs["port"], rs["replica_port"]):
            login = redis.Redis(host=rs["host"], port=node, username=cache["data"]["username"],
                                password=cache["data"]["password"], socket_timeout=5)
            login.get("cache:quickstart")  # authenticates, and may read its keys
            if node == rs["port"]:
                login.set("cache:quickstart", "1")
                with self.assertRaises(redis.exceptions.NoPermissionError):
                    login.set("other:quickstart", "1")
        r = requests.put(f"{addr}/v1/sys/leases/revoke", headers={"X-Vault-Token": token},
                         json={"lease_id": cache["lease_id"]}, timeout=30)
        self.assertEqual(r.status_code, 204, r.text)
        for node in (rs["port"], rs["replica_port"]):
            self.assertEqual(redis_users(rs, node, cache["data"]["username"]), [])
        redis_admin(rs).delete("cache:quickstart")
        # Revoked through the API: both roles are gone from PostgreSQL.
        r = requests.put(f"{addr}/v1/sys/leases/revoke-prefix/database/creds/app", headers={"X-Vault-Token": token},
                         timeout=30)
        self.assertEqual(r.status_code, 204, r.text)
        self.assertEqual(roles_with_prefix(pg, user), [])
        self.assertEqual(roles_with_prefix(pg, hvac_user.group(1)), [])

    def stop_broker(self, state, addr):
        """Only the broker: the throwaway servers belong to the whole test run."""
        try:
            with open(os.path.join(state, "root-token")) as f:
                token = f.read().strip()
            requests.put(f"{addr}/v1/sys/leases/revoke-prefix/database/creds", headers={"X-Vault-Token": token},
                         timeout=30)
        except (OSError, requests.RequestException):
            pass
        pid_file = os.path.join(state, "credbroker.pid")
        if os.path.exists(pid_file):
            pid = int(open(pid_file).read())
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.1)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    unittest.main()
