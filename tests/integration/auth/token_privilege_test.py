"""Token creation privileges as Vault's token store enforces them, on the real server with hvac and
raw HTTP: a token without sudo on the create path cannot mint a periodic token (on create or
create-orphan), an orphan through no_parent, or a token with policies it lacks; a sudo one can, with
period and explicit_max_ttl capped at max_lease_ttl; a limited-use token creates nothing; and an
absurd duration anywhere the API takes one is a 400 in Vault's format, never a 500 or a dead token.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import sys
import unittest

import hvac
import hvac.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker  # noqa: E402

CREATOR = '''
path "auth/token/create" { capabilities = ["update"] }
path "auth/token/create-orphan" { capabilities = ["update"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
'''
CREATOR_SUDO = CREATOR.replace('["update"]', '["update", "sudo"]')


class TokenPrivileges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(extra_config={"max_lease_ttl": "2h", "default_lease_ttl": "1h"}).start()
        root = cls.broker.client()
        root.sys.create_or_update_policy(name="creator", policy=CREATOR)
        root.sys.create_or_update_policy(name="creator-sudo", policy=CREATOR_SUDO)
        cls.plain = root.auth.token.create(policies=["creator"])["auth"]["client_token"]
        cls.sudo = root.auth.token.create(policies=["creator-sudo"])["auth"]["client_token"]

    @classmethod
    def tearDownClass(cls):
        cls.broker.destroy()

    def post(self, path, body, token):
        return self.broker.call("POST", path, body, token=token)

    def test_without_sudo_no_periodic_token_no_orphan_by_no_parent(self):
        refusals = [
            ("auth/token/create", {"period": "1h"}, "root or sudo privileges required to create periodic token"),
            ("auth/token/create-orphan", {"period": "1h"}, "root or sudo privileges required to create periodic token"),
            ("auth/token/create-orphan", {"period": 60, "explicit_max_ttl": "2h"},
             "root or sudo privileges required to create periodic token"),
            ("auth/token/create", {"no_parent": True}, "root or sudo privileges required to create orphan token"),
            ("auth/token/create", {"policies": ["creator-sudo"]}, "child policies must be subset of parent"),
            ("auth/token/create", {"id": "my-own-id"}, "root or sudo privileges required to specify token id"),
        ]
        for path, body, error in refusals:
            with self.subTest(path=path, body=body):
                status, reply = self.post(path, body, self.plain)
                self.assertEqual(status, 400, reply)
                self.assertEqual(reply, {"errors": [error]})
        # hvac raises on it as on Vault.
        with self.assertRaises(hvac.exceptions.InvalidRequest) as ctx:
            self.broker.client(self.plain).auth.token.create(period="24h")
        self.assertIn("root or sudo privileges required to create periodic token", str(ctx.exception))
        # create-orphan itself is ACL'd on its own path, as in Vault: an orphan, but an expiring one.
        status, reply = self.post("auth/token/create-orphan", {"ttl": "30m"}, self.plain)
        self.assertEqual(status, 200, reply)
        self.assertTrue(reply["auth"]["orphan"])
        self.assertEqual(reply["auth"]["lease_duration"], 1800)

    def test_with_sudo_periodic_and_orphans_capped_at_max_lease_ttl(self):
        status, reply = self.post("auth/token/create", {"period": "1h", "no_parent": True}, self.sudo)
        self.assertEqual(status, 200, reply)
        self.assertTrue(reply["auth"]["orphan"])
        self.assertEqual(reply["auth"]["lease_duration"], 3600)
        periodic = reply["auth"]["client_token"]
        me = self.broker.client(periodic).lookup_token()["data"]
        self.assertEqual(me["period"], 3600)
        self.assertTrue(me["orphan"])

        status, reply = self.post("auth/token/create-orphan", {"period": "100h"}, self.sudo)
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply["auth"]["lease_duration"], 7200)
        self.assertEqual(reply["warnings"],
                         ['period of "100h" exceeded the effective max_ttl of "2h"; period value is capped accordingly'])
        capped = reply["auth"]["client_token"]
        self.assertEqual(self.broker.client(capped).lookup_token()["data"]["period"], 7200)

        status, reply = self.post("auth/token/create", {"explicit_max_ttl": "1000h"}, self.sudo)
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply["auth"]["lease_duration"], 3600)
        self.assertIn('explicit_max_ttl of "1000h" exceeded the effective max_ttl of "2h"', reply["warnings"][0])

    def test_a_limited_use_token_creates_nothing(self):
        limited = self.post("auth/token/create", {"num_uses": 3, "policies": ["creator-sudo"]},
                            self.broker.root_token)[1]["auth"]["client_token"]
        status, reply = self.post("auth/token/create", {}, limited)
        self.assertEqual(status, 400, reply)
        self.assertEqual(reply, {"errors": ["restricted use token cannot generate child tokens"]})

    def test_absurd_durations_are_400_everywhere(self):
        root = self.broker.root_token
        self.broker.client().sys.enable_auth_method("approle", path="approle-durations")
        absurd = ["9223372036", 9223372036854775807, "2562047h", "99999999999999999999", 1e30, "36501d"]
        places = [
            ("POST", "auth/token/create", "period"),
            ("POST", "auth/token/create", "ttl"),
            ("POST", "auth/token/create", "explicit_max_ttl"),
            ("POST", "auth/token/create-orphan", "period"),
            ("POST", "auth/token/renew-self", "increment"),
            ("PUT", "sys/leases/renew", "increment"),
            ("POST", "auth/approle-durations/role/r", "token_period"),
            ("POST", "auth/approle-durations/role/r", "secret_id_ttl"),
            ("POST", "auth/approle-durations/role/r", "token_max_ttl"),
        ]
        for method, path, field in places:
            for value in absurd:
                with self.subTest(path=path, field=field, value=value):
                    body = {field: value}
                    if path == "sys/leases/renew":
                        body["lease_id"] = "database/creds/x/abc"
                    status, reply = self.broker.call(method, path, body, token=root)
                    self.assertEqual(status, 400, reply)
                    self.assertIn(f'error converting input for field "{field}"', reply["errors"][0])
                    self.assertIn("is out of range: the largest accepted is 876000h0m0s (100 years)", reply["errors"][0])
        # The mount tune takes durations too.
        self.broker.client().sys.enable_secrets_engine("database", path="db-durations")
        status, reply = self.broker.call("POST", "sys/mounts/db-durations/tune", {"max_lease_ttl": "9223372036"}, token=root)
        self.assertEqual(status, 400, reply)
        self.assertIn("out of range", reply["errors"][0])
        # The largest accepted value works and is capped: no dead token, no 500 on lookup.
        status, reply = self.post("auth/token/create", {"period": "876000h"}, root)
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply["auth"]["lease_duration"], 7200)
        token = reply["auth"]["client_token"]
        status, me = self.broker.call("GET", "auth/token/lookup-self", token=token)
        self.assertEqual(status, 200, me)
        self.assertEqual(me["data"]["period"], 7200)
        self.assertGreater(me["data"]["ttl"], 7000)


if __name__ == "__main__":
    unittest.main()
