"""Response wrapping through the real server (SQLite storage) with python3-hvac 0.11.2 and raw HTTP:
X-Vault-Wrap-TTL on database creds (the lease inside stays a normal lease: the PostgreSQL login
works, revoking it drops the role), the AppRole trusted-orchestrator flow (a wrapped secret ID
unwrapped once by the workload, which logs in), expiry at the wrap TTL, and no wrapped secret, wrapping
token or secret ID in clear in the database files or the logs.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary; the servers of
scripts/test-servers.sh must be up."""
import glob
import os
import secrets
import sys
import time
import unittest

import hvac
import hvac.exceptions
import psycopg2
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker, configure_postgres, pg_connect, roles_with_prefix, shared_pg, wait_for  # noqa: E402

INVALID = "wrapping token is not valid or does not exist"


class Wrapping(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = shared_pg()
        cls.broker = Broker().start()
        cls.admin = cls.broker.client()
        cls.secrets = [cls.broker.root_token]

    @classmethod
    def tearDownClass(cls):
        logs = cls.broker.all_logs()
        files = b""
        for f in glob.glob(os.path.join(cls.broker.dir, "data", "*")):
            with open(f, "rb") as fh:
                files += fh.read()
        cls.broker.destroy()
        for s in cls.secrets:
            assert s not in logs, "a secret is in the server's logs"
            assert s.encode() not in files, "a secret is in clear in the database files"

    def unauthenticated(self, path, body):
        r = requests.post(f"{self.broker.addr}/v1/{path}", json=body, timeout=30)
        return r.status_code, r.json()

    def test_wrapped_creds_hold_a_normal_lease(self):
        admin = self.admin
        admin.sys.enable_secrets_engine("database", path="wrapdb")
        prefix = "wrap" + secrets.token_hex(3)
        configure_postgres(admin, "pg", self.pg, mount="wrapdb", username_template=prefix + "-{{random 8}}")
        admin.write("wrapdb/roles/app", db_name="pg", default_ttl="10m", max_ttl="1h",
                    creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                                         "VALID UNTIL '{{expiration}}';"])
        wrapped = admin.read("wrapdb/creds/app", wrap_ttl="2m")
        info = wrapped["wrap_info"]
        self.assertIsNone(wrapped["data"])
        self.assertEqual(wrapped["lease_id"], "")
        self.assertEqual(info["ttl"], 120)
        self.assertEqual(info["creation_path"], "wrapdb/creds/app")
        self.assertTrue(info["token"].startswith("hvs."))
        self.secrets.append(info["token"])
        # The database user exists already, under a normal lease.
        created = roles_with_prefix(self.pg, prefix)
        self.assertEqual(len(created), 1)

        # The workload holds only the wrapping token.
        inner = hvac.Client(url=self.broker.addr, token=info["token"]).sys.unwrap()
        creds = inner["data"]
        self.secrets += [creds["password"]]
        self.assertEqual([creds["username"]], created)
        self.assertEqual(inner["lease_duration"], 600)
        with pg_connect(self.pg, user=creds["username"], password=creds["password"]) as c, c.cursor() as cur:
            cur.execute("SELECT current_user")
            self.assertEqual(cur.fetchone()[0], creds["username"])
        looked = admin.sys.read_lease(inner["lease_id"])
        self.assertEqual(looked["data"]["id"], inner["lease_id"])
        admin.sys.revoke_lease(inner["lease_id"])
        wait_for(lambda: roles_with_prefix(self.pg, prefix) == [], 30, "the revoked lease's role to be dropped")
        with self.assertRaises(psycopg2.OperationalError):
            pg_connect(self.pg, user=creds["username"], password=creds["password"])

    def test_trusted_orchestrator_hands_a_wrapped_secret_id_to_the_workload(self):
        admin = self.admin
        admin.sys.enable_auth_method("approle")
        admin.sys.create_or_update_policy(name="app", policy='path "sys/policy" {\n  capabilities = ["read"]\n}\n')
        admin.write("auth/approle/role/web", token_policies="app", token_ttl="20m")
        role_id = admin.read("auth/approle/role/web/role-id")["data"]["role_id"]

        # The orchestrator: a token allowed only to mint wrapped secret IDs (the policy insists on it).
        admin.sys.create_or_update_policy(
            name="orchestrator",
            policy='path "auth/approle/role/web/secret-id" {\n  capabilities = ["update"]\n'
                   '  min_wrapping_ttl = "30s"\n  max_wrapping_ttl = "5m"\n}\n')
        orch_token = admin.auth.token.create(policies=["orchestrator"], ttl="1h")["auth"]["client_token"]
        self.secrets.append(orch_token)
        orch = hvac.Client(url=self.broker.addr, token=orch_token)
        for ttl in (None, "10s", "10m"):
            with self.assertRaises(hvac.exceptions.Forbidden):
                orch.write("auth/approle/role/web/secret-id", wrap_ttl=ttl)
        wrapped = orch.write("auth/approle/role/web/secret-id", wrap_ttl="120s")
        info = wrapped["wrap_info"]
        self.assertIsNone(wrapped["data"])
        self.assertEqual(info["creation_path"], "auth/approle/role/web/secret-id")
        self.secrets.append(info["token"])

        # Anyone may look the wrapping token up (unauthenticated, as Vault); that consumes nothing.
        status, looked = self.unauthenticated("sys/wrapping/lookup", {"token": info["token"]})
        self.assertEqual(status, 200)
        self.assertEqual(looked["data"]["creation_ttl"], 120)
        self.assertEqual(looked["data"]["creation_path"], "auth/approle/role/web/secret-id")

        # The workload unwraps with the wrapping token as its own token and logs in.
        workload = hvac.Client(url=self.broker.addr, token=info["token"])
        unwrapped = workload.sys.unwrap()
        secret_id = unwrapped["data"]["secret_id"]
        self.secrets.append(secret_id)
        self.assertEqual(unwrapped["data"]["secret_id_accessor"], info["wrapped_accessor"])
        login = hvac.Client(url=self.broker.addr).auth.approle.login(role_id, secret_id)
        self.secrets.append(login["auth"]["client_token"])
        self.assertEqual(login["auth"]["policies"], ["app", "default"])

        # Once only: a second unwrap (anyone's) is refused, so an interception is noticed.
        with self.assertRaises(hvac.exceptions.InvalidRequest) as again:
            workload.sys.unwrap()
        self.assertIn(INVALID, str(again.exception))
        with self.assertRaises(hvac.exceptions.InvalidRequest):
            admin.sys.unwrap(info["token"])

    def test_a_wrapping_token_dies_at_its_ttl(self):
        status, body = self.broker.call("POST", "sys/wrapping/wrap", {"k": "v"})
        self.assertEqual(status, 400)
        self.assertEqual(body["errors"], ["endpoint requires response wrapping to be used"])
        r = requests.post(f"{self.broker.addr}/v1/sys/wrapping/wrap", json={"k": "v"}, timeout=30,
                          headers={"X-Vault-Token": self.broker.root_token, "X-Vault-Wrap-TTL": "1s"})
        self.assertEqual(r.status_code, 200)
        token = r.json()["wrap_info"]["token"]
        self.secrets.append(token)
        time.sleep(2.1)  # the wrap TTL runs out on the real clock
        status, body = self.unauthenticated("sys/wrapping/unwrap", {"token": token})
        self.assertEqual(status, 403)  # a third party's unwrap needs its own token
        status, body = self.broker.call("POST", "sys/wrapping/unwrap", {"token": token})
        self.assertEqual(status, 400)
        self.assertEqual(body["errors"], [INVALID])

    def test_a_wrap_request_is_never_answered_with_unwrapped_data(self):
        for path in ("sys/health", "sys/seal-status", "sys/leader"):
            r = requests.get(f"{self.broker.addr}/v1/{path}", timeout=30, headers={"X-Vault-Wrap-TTL": "1m"})
            self.assertEqual(r.status_code, 400, path)
            self.assertIn("cannot be wrapped", r.json()["errors"][0])
        r = requests.get(f"{self.broker.addr}/v1/sys/policy", timeout=30,
                         headers={"X-Vault-Token": self.broker.root_token, "X-Vault-Wrap-TTL": "soon"})
        self.assertEqual(r.status_code, 400)
        self.assertTrue(r.json()["errors"][0].startswith("error parsing X-Vault-Wrap-TTL header: "))


if __name__ == "__main__":
    unittest.main()
