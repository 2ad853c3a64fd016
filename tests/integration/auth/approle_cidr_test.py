"""AppRole CIDR bindings and the client address on the real server: logins from 127.0.0.1 with
bindings that allow and that deny, tokens bound to CIDR blocks (Vault's 403 without "invalid token"),
X-Forwarded-For honoured only from an authorized proxy (or refused, per the listener option), the
per-field role endpoints round-tripped, and tidy/secret-id removing an expired secret ID.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import json
import os
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker  # noqa: E402

DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}


def listener(port, **xff):
    tcp = {"address": f"127.0.0.1:{port}", "tls_disable": True}
    tcp.update(xff)
    return {"listener": {"tcp": tcp}}


class Server:
    """A broker with AppRole enabled at approle/, and raw HTTP with chosen headers."""

    def __init__(self, **xff):
        self.broker = Broker()
        if xff:
            # Broker() picked the port; the listener keeps it and adds the X-Forwarded-For options.
            with open(self.broker.config_path) as f:
                cfg = json.load(f)
            cfg.update(listener(self.broker.port, **xff))
            with open(self.broker.config_path, "w") as f:
                json.dump(cfg, f)
        self.broker.start()
        status, body = self.call("POST", "sys/auth/approle", {"type": "approle"})
        assert status == 204, (status, body)

    def call(self, method, path, body=None, token=None, forwarded_for=None):
        headers = {"X-Vault-Token": token if token is not None else self.broker.root_token}
        if forwarded_for is not None:
            headers["X-Forwarded-For"] = forwarded_for
        r = requests.request(method, f"{self.broker.addr}/v1/{path}", json=body, headers=headers, timeout=60)
        return r.status_code, (r.json() if r.content else None)

    def role(self, name, **params):
        status, body = self.call("POST", f"auth/approle/role/{name}", params)
        assert status in (200, 204), (status, body)
        status, body = self.call("GET", f"auth/approle/role/{name}/role-id")
        return body["data"]["role_id"]

    def secret_id(self, name, **params):
        status, body = self.call("POST", f"auth/approle/role/{name}/secret-id", params)
        assert status == 200, (status, body)
        return body["data"]

    def login(self, role_id, secret_id=None, forwarded_for=None):
        body = {"role_id": role_id}
        if secret_id is not None:
            body["secret_id"] = secret_id
        return self.call("POST", "auth/approle/login", body, token="", forwarded_for=forwarded_for)

    def destroy(self):
        self.broker.destroy()


class Bindings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()

    @classmethod
    def tearDownClass(cls):
        cls.s.destroy()

    def test_logins_from_127_0_0_1_allowed_and_denied(self):
        s = self.s
        rows = [
            # role params, secret-id params, expected status, expected error
            ("loopback", {"secret_id_bound_cidrs": "127.0.0.0/8"}, {}, 200, None),
            ("far", {"secret_id_bound_cidrs": ["10.0.0.0/8"]}, {}, 400,
             'source address "127.0.0.1" unauthorized by CIDR restrictions on the role'),
            ("far-secret", {}, {"cidr_list": "10.0.0.0/8"}, 400,
             'source address "127.0.0.1" unauthorized by CIDR restrictions on the secret ID'),
            ("near-secret", {"secret_id_bound_cidrs": "127.0.0.0/8,10.0.0.0/8"}, {"cidr_list": ["127.0.0.1/32"]}, 200,
             None),
        ]
        for name, role, secret, status, error in rows:
            with self.subTest(role=name):
                role_id = s.role(name, token_policies="default", **role)
                sid = s.secret_id(name, **secret)
                got, body = s.login(role_id, sid["secret_id"])
                self.assertEqual(got, status, body)
                if error:
                    self.assertEqual(body, {"errors": [error]})
                else:
                    self.assertTrue(body["auth"]["client_token"])
        # An X-Forwarded-For header is ignored without authorized proxies: still 127.0.0.1.
        role_id = s.role("far", token_policies="default")
        sid = s.secret_id("far")
        got, body = s.login(role_id, sid["secret_id"], forwarded_for="10.1.2.3")
        self.assertEqual(got, 400, body)
        self.assertIn('source address "127.0.0.1"', body["errors"][0])

    def test_bound_tokens_work_only_from_their_blocks(self):
        s = self.s
        near = s.role("tok-near", token_policies="default", token_bound_cidrs="127.0.0.1")
        far = s.role("tok-far", token_policies="default", token_bound_cidrs=["10.0.0.0/8"])
        _, body = s.login(near, s.secret_id("tok-near")["secret_id"])
        near_token = body["auth"]["client_token"]
        status, me = s.call("GET", "auth/token/lookup-self", token=near_token)
        self.assertEqual(status, 200, me)
        self.assertEqual(me["data"]["bound_cidrs"], ["127.0.0.1"])
        _, body = s.login(far, s.secret_id("tok-far")["secret_id"])
        far_token = body["auth"]["client_token"]
        self.assertEqual(s.call("GET", "auth/token/lookup-self", token=far_token), (403, DENIED))
        # Still a valid token (root sees it), just not from here.
        status, seen = s.call("POST", "auth/token/lookup", {"token": far_token})
        self.assertEqual(status, 200, seen)
        self.assertEqual(seen["data"]["bound_cidrs"], ["10.0.0.0/8"])
        # A secret ID's token_bound_cidrs replace the role's and must lie within them.
        sid = s.secret_id("tok-far", token_bound_cidrs="10.1.0.0/16")
        self.assertEqual(sid["secret_id_num_uses"], 0)
        status, body = s.call("POST", "auth/approle/role/tok-far/secret-id", {"token_bound_cidrs": "192.168.0.0/16"})
        self.assertEqual(status, 400, body)
        self.assertIn("should be a subset of the token bound CIDR blocks on the role", body["errors"][0])
        status, body = s.call("POST", "auth/approle/role/tok-far/secret-id/lookup", {"secret_id": sid["secret_id"]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["data"]["token_bound_cidrs"], ["10.1.0.0/16"])
        self.assertEqual(body["data"]["cidr_list"], [])

    def test_bad_cidrs_are_400s(self):
        s = self.s
        for params in ({"secret_id_bound_cidrs": "10.0.0.300/8"}, {"token_bound_cidrs": "nope"},
                       {"bound_cidr_list": "10.0.0.1"}):
            with self.subTest(params=params):
                status, body = s.call("POST", "auth/approle/role/bad", params)
                self.assertEqual(status, 400, body)
                self.assertTrue(body["errors"][0].startswith("failed to validate CIDR blocks: invalid CIDR address: "),
                                body)
        s.role("plain", token_policies="default")
        status, body = s.call("POST", "auth/approle/role/plain/secret-id", {"cidr_list": "banana"})
        self.assertEqual((status, body), (400, {"errors": ["failed to validate CIDR blocks: invalid CIDR address: banana"]}))

    def test_per_field_endpoints_round_trip(self):
        s = self.s
        s.role("fields", token_policies="a", secret_id_bound_cidrs="127.0.0.0/8")
        rows = [
            # endpoint, body written, what the read answers, what it answers after delete
            # (bind_secret_id=false first, while the role still has its CIDR binding as a constraint)
            ("bind-secret-id", {"bind_secret_id": False}, {"bind_secret_id": False}, {"bind_secret_id": True}),
            ("policies", {"token_policies": "b,c"}, {"token_policies": ["b", "c"], "policies": ["b", "c"]},
             {"token_policies": [], "policies": []}),
            ("secret-id-bound-cidrs", {"secret_id_bound_cidrs": "10.0.0.0/8"}, {"secret_id_bound_cidrs": ["10.0.0.0/8"]},
             {"secret_id_bound_cidrs": None}),
            ("bound-cidr-list", {"bound_cidr_list": ["192.168.0.0/16"]}, {"bound_cidr_list": ["192.168.0.0/16"]},
             {"bound_cidr_list": None}),
            ("token-bound-cidrs", {"token_bound_cidrs": "10.0.0.1"}, {"token_bound_cidrs": ["10.0.0.1"]},
             {"token_bound_cidrs": []}),
            ("secret-id-num-uses", {"secret_id_num_uses": 5}, {"secret_id_num_uses": 5}, {"secret_id_num_uses": 0}),
            ("secret-id-ttl", {"secret_id_ttl": "10m"}, {"secret_id_ttl": 600}, {"secret_id_ttl": 0}),
            ("token-ttl", {"token_ttl": "5m"}, {"token_ttl": 300}, {"token_ttl": 0}),
            ("token-max-ttl", {"token_max_ttl": "1h"}, {"token_max_ttl": 3600}, {"token_max_ttl": 0}),
            ("token-num-uses", {"token_num_uses": 3}, {"token_num_uses": 3}, {"token_num_uses": 0}),
            ("period", {"period": "2h"}, {"period": 7200, "token_period": 7200}, {"period": 0, "token_period": 0}),
        ]
        for endpoint, body, read, after in rows:
            with self.subTest(endpoint=endpoint):
                path = f"auth/approle/role/fields/{endpoint}"
                status, reply = s.call("POST", path, body)
                self.assertEqual(status, 204, reply)
                status, reply = s.call("GET", path)
                self.assertEqual(status, 200, reply)
                self.assertEqual(reply["data"], read)
                status, reply = s.call("DELETE", path)
                self.assertEqual(status, 204, reply)
                status, reply = s.call("GET", path)
                self.assertEqual(status, 200, reply)
                self.assertEqual(reply["data"], after)
        self.assertEqual(s.call("GET", "auth/approle/role/fields/local-secret-ids")[1]["data"], {"local_secret_ids": False})
        self.assertEqual(s.call("POST", "auth/approle/role/fields/token-ttl", {}),
                         (400, {"errors": ["missing token_ttl"]}))
        self.assertEqual(s.call("POST", "auth/approle/role/ghost/token-ttl", {"token_ttl": 5})[0], 404)
        self.assertEqual(s.call("GET", "auth/approle/role/ghost/token-ttl")[0], 404)
        self.assertEqual(s.call("DELETE", "auth/approle/role/ghost/token-ttl")[0], 204)

    def test_tidy_removes_an_expired_secret_id(self):
        s = self.s
        s.role("tidy", token_policies="default")
        short = s.secret_id("tidy", ttl="1s")
        keep = s.secret_id("tidy")
        time.sleep(2.1)
        status, body = s.call("POST", "auth/approle/tidy/secret-id")
        self.assertEqual(status, 202, body)
        self.assertEqual(body["warnings"], ["Tidy operation successfully started. Any information from the operation "
                                            "will be printed to Vault's server logs."])
        status, body = s.call("LIST", "auth/approle/role/tidy/secret-id")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["data"]["keys"], [keep["secret_id_accessor"]])
        status, body = s.call("POST", "auth/approle/role/tidy/secret-id-accessor/lookup",
                              {"secret_id_accessor": short["secret_id_accessor"]})
        self.assertEqual(status, 204, body)


class ForwardedFor(unittest.TestCase):
    def test_an_authorized_proxy_names_the_client(self):
        s = Server(x_forwarded_for_authorized_addrs=["127.0.0.1/32"], x_forwarded_for_reject_not_present=False)
        try:
            role_id = s.role("behind-proxy", token_policies="default", secret_id_bound_cidrs="10.0.0.0/8",
                             token_bound_cidrs="10.0.0.0/8")
            sid = s.secret_id("behind-proxy")["secret_id"]
            status, body = s.login(role_id, sid)  # the proxy's own address
            self.assertEqual(status, 400, body)
            status, body = s.login(role_id, sid, forwarded_for="192.0.2.1, 10.1.2.3")
            self.assertEqual(status, 200, body)
            token = body["auth"]["client_token"]
            self.assertEqual(s.call("GET", "auth/token/lookup-self", token=token, forwarded_for="10.9.9.9")[0], 200)
            self.assertEqual(s.call("GET", "auth/token/lookup-self", token=token), (403, DENIED))
            self.assertEqual(s.call("GET", "auth/token/lookup-self", token=token, forwarded_for="192.0.2.1"), (403, DENIED))
        finally:
            s.destroy()

    def test_an_unauthorized_proxy_is_refused_or_ignored(self):
        refusing = Server(x_forwarded_for_authorized_addrs="10.0.0.0/8", x_forwarded_for_reject_not_present=False)
        try:
            status, body = refusing.call("GET", "sys/health", forwarded_for="10.1.2.3")
            self.assertEqual((status, body), (400, {"errors": [
                "client address not authorized for x-forwarded-for and configured to reject connection"]}))
            self.assertEqual(refusing.call("GET", "sys/health")[0], 200)
        finally:
            refusing.destroy()
        ignoring = Server(x_forwarded_for_authorized_addrs="10.0.0.0/8", x_forwarded_for_reject_not_present=False,
                          x_forwarded_for_reject_not_authorized=False)
        try:
            role_id = ignoring.role("far", token_policies="default", secret_id_bound_cidrs="10.0.0.0/8")
            sid = ignoring.secret_id("far")["secret_id"]
            status, body = ignoring.login(role_id, sid, forwarded_for="10.1.2.3")
            self.assertEqual(status, 400, body)
            self.assertIn('source address "127.0.0.1"', body["errors"][0])
        finally:
            ignoring.destroy()


if __name__ == "__main__":
    unittest.main()
