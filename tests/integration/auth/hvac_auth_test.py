"""Tokens, ACL policies and AppRole through python3-hvac 0.11.2 against the real server with SQLite
storage: hvac's policy and token calls work unchanged, a limited token is refused outside its policy,
an AppRole login gets exactly its role's policies, and no token or secret ID appears in clear in the
database files or the server's logs. Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import hvac
import hvac.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "broker"))
from server_process_test import BIN, free_port, Server  # noqa: E402

APP_POLICY = 'path "database/creds/app" {\n  capabilities = ["read"]\n}\n'


class HvacAuth(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="credbroker-auth-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        port = free_port()
        cfg = {"listener": {"tcp": {"address": f"127.0.0.1:{port}", "tls_disable": True}},
               "storage": {"sqlite": {"path": os.path.join(self.dir, "data")}}, "log_level": "debug"}
        path = os.path.join(self.dir, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        s = Server.__new__(Server)
        s.port = port
        s.addr = f"http://127.0.0.1:{port}"
        s.errfile = tempfile.TemporaryFile(mode="w+")
        s.outfile = tempfile.TemporaryFile(mode="w+")
        s.proc = subprocess.Popen([BIN, "server", "-config", path], stdout=s.outfile, stderr=s.errfile)
        s.wait_until_up()
        self.server = s
        self.addCleanup(s.stop)
        admin = hvac.Client(url=s.addr)
        init = admin.sys.initialize(secret_shares=1, secret_threshold=1)
        admin.sys.submit_unseal_keys(init["keys"])
        admin.token = init["root_token"]
        self.admin = admin
        self.secrets = [init["root_token"], init["keys"][0]]

    def client(self, token=None):
        return hvac.Client(url=self.server.addr, token=token)

    def test_policies_tokens_and_approle_with_hvac(self):
        admin = self.admin
        self.assertTrue(admin.is_authenticated())
        # Legacy sys/policy (what hvac 0.11.2 uses).
        admin.sys.create_or_update_policy(name="app", policy=APP_POLICY)
        self.assertEqual(admin.sys.read_policy("app")["data"]["rules"], APP_POLICY)
        self.assertIn("app", admin.sys.list_policies()["data"]["policies"])
        self.assertIn("default", admin.sys.list_policies()["data"]["policies"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as bad:
            admin.sys.create_or_update_policy(name="broken", policy='path "x" { capabilities = ["reed"] }')
        self.assertIn('line 1, column 28: invalid capability "reed"', str(bad.exception))

        # A token holding only "app" (hvac's current and deprecated create calls).
        created = admin.auth.token.create(policies=["app"], ttl="1h")
        app_token = created["auth"]["client_token"]
        self.assertEqual(created["auth"]["policies"], ["app", "default"])
        legacy = admin.create_token(policies=["app"], lease="30m")  # sends null for every unset field
        self.assertEqual(legacy["auth"]["lease_duration"], 1800)
        self.secrets += [app_token, legacy["auth"]["client_token"]]

        app = self.client(app_token)
        self.assertTrue(app.is_authenticated())
        me = app.lookup_token()["data"]
        self.assertEqual(me["policies"], ["app", "default"])
        self.assertEqual(me["id"], app_token)
        renewed = app.auth.token.renew_self(increment="20m")
        self.assertEqual(renewed["auth"]["lease_duration"], 1200)
        # Outside its policy: 403 everywhere (hvac raises Forbidden).
        for call in (lambda: app.sys.list_policies(),
                     lambda: app.sys.read_policy("app"),
                     lambda: app.sys.create_or_update_policy(name="mine", policy=APP_POLICY),
                     lambda: app.sys.list_mounted_secrets_engines(),
                     lambda: app.sys.list_auth_methods(),
                     lambda: app.auth.token.create(policies=["app"]),
                     lambda: app.sys.list_leases("database/"),
                     lambda: app.read("database/config/prod"),
                     lambda: app.write("database/roles/app", db_name="x"),
                     lambda: app.sys.seal()):
            with self.assertRaises(hvac.exceptions.Forbidden):
                call()
        # Inside it: the ACL lets the read through (no database mount yet: 404, which hvac reads as None).
        self.assertIsNone(app.read("database/creds/app"))

        # AppRole.
        admin.sys.enable_auth_method("approle")
        self.assertIn("approle/", admin.sys.list_auth_methods()["data"])
        admin.auth.approle.create_or_update_approle("web", token_policies=["app"], token_ttl="20m",
                                                    token_max_ttl="1h")
        self.assertEqual(admin.auth.approle.read_role("web")["data"]["token_policies"], ["app"])
        self.assertEqual(admin.auth.approle.list_roles()["data"]["keys"], ["web"])
        role_id = admin.auth.approle.read_role_id("web")["data"]["role_id"]
        sid = admin.auth.approle.generate_secret_id("web", metadata={"host": "web-1"})["data"]
        self.secrets.append(sid["secret_id"])
        self.assertEqual(admin.auth.approle.read_secret_id("web", sid["secret_id"])["data"]["metadata"],
                         {"host": "web-1"})
        machine = self.client()
        login = machine.auth.approle.login(role_id, sid["secret_id"])
        self.secrets.append(login["auth"]["client_token"])
        self.assertEqual(login["auth"]["policies"], ["app", "default"])
        self.assertEqual(login["auth"]["metadata"], {"role_name": "web", "host": "web-1"})
        self.assertEqual(login["auth"]["lease_duration"], 1200)
        self.assertTrue(machine.is_authenticated())  # login() installed the token
        with self.assertRaises(hvac.exceptions.Forbidden):
            machine.sys.list_policies()
        with self.assertRaises(hvac.exceptions.InvalidRequest):
            self.client().auth.approle.login(role_id, "not-the-secret")

        # Revocation: the parent takes its children along; revoke-self ends a token.
        parent = admin.auth.token.create(policies=["app"])["auth"]["client_token"]
        kid = self.client(parent)
        self.secrets.append(parent)
        admin.sys.create_or_update_policy(name="maker", policy='path "auth/token/create" { capabilities = ["update"] }')
        maker = admin.auth.token.create(policies=["app", "maker"])["auth"]["client_token"]
        self.secrets.append(maker)
        grandchild = self.client(maker).auth.token.create(policies=["app"])["auth"]["client_token"]
        self.secrets.append(grandchild)
        self.assertTrue(self.client(grandchild).is_authenticated())
        admin.auth.token.revoke(maker)
        self.assertFalse(self.client(grandchild).is_authenticated())
        kid.auth.token.revoke_self()
        self.assertFalse(kid.is_authenticated())

        # Nothing secret in clear on disk or in the logs.
        self.server.stop()
        blobs = []
        for f in glob.glob(os.path.join(self.dir, "data", "*")):
            with open(f, "rb") as fh:
                blobs.append((f, fh.read()))
        self.assertTrue(blobs)
        logs = self.server.stdout() + self.server.stderr()
        self.assertIn("PUT", logs)  # the request log is there (so the grep below means something)
        for s in self.secrets:
            self.assertNotIn(s, logs)
            for name, data in blobs:
                self.assertNotIn(s.encode(), data, name)


if __name__ == "__main__":
    unittest.main()
