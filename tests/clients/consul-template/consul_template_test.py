"""consul-template against credbroker: renders {{ with secret "database/creds/app" }} into a file,
keeps the lease renewed with its LifetimeWatcher, and renders a new credential once the lease can no
longer be renewed (its max TTL); every rendered credential must log in to PostgreSQL, and the one it
replaced must stop working when its lease expires. Run by run_client.py (a fresh broker in
VAULT_ADDR); the setup (init, unseal, mount, config, role) is plain HTTP from this file."""
import json
import os
import secrets
import signal
import subprocess
import time
import unittest
import urllib.error
import urllib.request

import psycopg2

ADDR = os.environ["VAULT_ADDR"]
WORK = os.environ["CREDBROKER_CLIENT_WORKDIR"]
BINARY = os.path.join(os.environ["CREDBROKER_CLIENTS_DIR"], "consul-template", "bin", "consul-template")
PG = {k: os.environ["CREDBROKER_TEST_PG_" + k.upper()] for k in ("host", "port", "user", "password", "database")}


def record(*values):
    with open(os.environ["CREDBROKER_CLIENT_SECRETS"], "a") as f:
        for v in values:
            f.write(v + "\n")


def api(method, path, body=None, token=None):
    req = urllib.request.Request(ADDR + "/v1/" + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if token:
        req.add_header("X-Vault-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def pg_login(user, password):
    """current_user, or None when PostgreSQL refuses the credential."""
    try:
        conn = psycopg2.connect(host=PG["host"], port=PG["port"], dbname=PG["database"], user=user,
                                password=password, connect_timeout=5)
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as c:
            c.execute("SELECT current_user")
            return c.fetchone()[0]
    finally:
        conn.close()


def pg_root(*statements):
    conn = psycopg2.connect(host=PG["host"], port=PG["port"], dbname=PG["database"], user=PG["user"],
                            password=PG["password"], connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as c:
            for s in statements:
                c.execute(s)
    finally:
        conn.close()


class ConsulTemplate(unittest.TestCase):
    def setUp(self):
        record(PG["password"])
        status, init = api("PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1})
        self.assertEqual(status, 200, init)
        record(init["root_token"], *init["keys"], *init["keys_base64"])
        self.root = init["root_token"]
        status, body = api("PUT", "sys/unseal", {"key": init["keys"][0]})
        self.assertEqual((status, body["sealed"]), (200, False))
        self.assertEqual(api("POST", "sys/mounts/database", {"type": "database"}, self.root)[0], 204)
        self.admin, self.admin_password = "ct_admin_" + secrets.token_hex(4), secrets.token_hex(16)
        record(self.admin_password)
        pg_root(f'CREATE ROLE "{self.admin}" WITH LOGIN CREATEROLE PASSWORD \'{self.admin_password}\'')
        self.addCleanup(pg_root, f'DROP ROLE IF EXISTS "{self.admin}"')
        status, body = api("POST", "database/config/pg", {
            "plugin_name": "postgresql-database-plugin", "allowed_roles": "app",
            "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@{PG['host']}:{PG['port']}/{PG['database']}",
            "username": self.admin, "password": self.admin_password}, self.root)
        self.assertEqual(status, 204, body)
        # Leases of 6 s, at most 18 s: consul-template renews each about twice, then fetches anew.
        status, body = api("POST", "database/roles/app", {
            "db_name": "pg", "default_ttl": "6s", "max_ttl": "18s",
            "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]},
            self.root)
        self.assertEqual(status, 204, body)

    def tearDown(self):
        api("PUT", "sys/leases/revoke-prefix/database", {}, self.root)
        api("PUT", "sys/seal", {}, self.root)

    def test_renders_renews_and_rotates_at_max_ttl(self):
        template = os.path.join(WORK, "creds.tpl")
        rendered = os.path.join(WORK, "creds.txt")
        with open(template, "w") as f:
            f.write('{{ with secret "database/creds/app" }}{{ .LeaseID }} {{ .Data.username }} {{ .Data.password }}{{ end }}\n')
        config = os.path.join(WORK, "ct.hcl")
        with open(config, "w") as f:
            f.write(f'''
vault {{
  address      = "{ADDR}"
  renew_token  = false
  unwrap_token = false
  retry {{ attempts = 3 }}
}}
template {{
  source      = "{template}"
  destination = "{rendered}"
  perms       = 0600
}}
log_level = "info"
''')
        env = {**os.environ, "VAULT_TOKEN": self.root}
        ct = subprocess.Popen([BINARY, "-config", config], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: ct.poll() is not None or (ct.send_signal(signal.SIGINT), ct.wait(timeout=20)))

        seen = []  # (lease_id, username, password) in the order rendered
        deadline = time.time() + 90
        while len(seen) < 3 and time.time() < deadline:
            self.assertIsNone(ct.poll(), "consul-template exited early")
            try:
                with open(rendered) as f:
                    parts = f.read().split()
            except FileNotFoundError:
                parts = []
            if len(parts) == 3 and (not seen or seen[-1][0] != parts[0]):
                lease, user, password = parts
                record(password)
                self.assertEqual(pg_login(user, password), user, "a rendered credential does not log in")
                seen.append((lease, user, password))
                print(f"rendered credential {len(seen)}: {user}", flush=True)
            time.sleep(0.2)
        self.assertEqual(len(seen), 3, f"consul-template rendered {len(seen)} credential(s) in 90 s, want 3")

        for lease, user, password in seen[:2]:
            # Each replaced lease was renewed before it ran into its max TTL ...
            status, body = api("PUT", "sys/leases/lookup", {"lease_id": lease}, self.root)
            if status == 200:
                self.assertIsNotNone(body["data"]["last_renewal"], "consul-template never renewed " + lease)
            # ... and its credential stops working once that lease is gone (revoked at expiry).
            gone = time.time() + 30
            while pg_login(user, password) is not None:
                self.assertLess(time.time(), gone, f"{user} still logs in 30 s after its lease's max TTL")
                time.sleep(0.5)
        status, body = api("PUT", "sys/leases/lookup", {"lease_id": seen[2][0]}, self.root)
        self.assertEqual(status, 200, body)

        ct.send_signal(signal.SIGINT)
        out, _ = ct.communicate(timeout=30)
        log = out.decode("utf-8", "replace")
        print(log[-3000:], flush=True)
        self.assertIn("renewer done", log)  # consul-template's own word for a lease it could renew no more
        self.assertNotIn("failed to check if", log)  # the KV v2 probe (sys/internal/ui/mounts) answered


if __name__ == "__main__":
    unittest.main()
