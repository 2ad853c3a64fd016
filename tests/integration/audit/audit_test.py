"""Audit devices on the real binary (SQLite storage, auto-unseal) with the real PostgreSQL and Redis:

- a whole lifecycle (connection configs with root passwords, creds, a PostgreSQL login, renew,
  revoke, token create, AppRole login with a secret ID) with a file device: one request and one
  response entry per request, in Vault's shape, none of the issued passwords, tokens, secret IDs
  or root passwords in clear, and sys/audit-hash reproducing the HMACs the log holds;
- log rotation: mv + SIGHUP, later entries in the new file;
- a socket device (a TCP listener in this test) receiving entries;
- the fail-closed rule: with the only device unable to record (its peer gone, its file path
  unusable) requests are refused with 500; with another device working they are served;
- devices and salts survive a restart; disabling removes the salt.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import json
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import unittest

import hvac
import hvac.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import (Broker, configure_postgres, configure_redis, pg_connect, redis_admin, shared_pg,  # noqa: E402
                    shared_redis, wait_for)

SECRETS = []  # every secret the run saw: none may be in any audit log or server log
AUDIT_FILES = []  # every audit log the run wrote


def read_entries(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class LineListener:
    """A TCP server on 127.0.0.1 collecting the lines it receives; stop() closes the listener and
    every connection (the peer is gone), start() listens again on the same port."""

    def __init__(self):
        self.lines = []
        self.port = None
        self.lock = threading.Lock()
        self.start()

    def start(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port or 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        buf = b""
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                with self.lock:
                    self.lines.append(json.loads(line))

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept(): a bare close would leave it listening
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self.thread.join(timeout=5)

    def entries(self):
        with self.lock:
            return list(self.lines)


class AuditCase(unittest.TestCase):
    extra_config = None  # added to the server's configuration

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="credbroker-audit-it-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.broker = Broker(extra_config=self.extra_config).start()
        self.addCleanup(self.broker.destroy)
        self.addCleanup(self.assert_no_secret_in_clear)  # runs first: the logs are still there
        SECRETS.append(self.broker.root_token)
        self.client = self.broker.client()

    def assert_no_secret_in_clear(self):
        """No secret of the run in clear in any audit log this test wrote, nor in the server's log."""
        texts = [self.broker.all_logs()]
        for path in AUDIT_FILES:
            if os.path.isfile(path):
                with open(path) as f:
                    texts.append(f.read())
        for s in SECRETS:
            for t in texts:
                self.assertNotIn(s, t, "a secret is in clear in an audit log or the server's log")

    def log_path(self, name):
        path = os.path.join(self.dir, name)
        AUDIT_FILES.append(path)
        return path

    def enable_file(self, path, log, **options):
        status, body = self.broker.call("PUT", f"sys/audit/{path}",
                                        {"type": "file", "options": {"file_path": log, **options}})
        self.assertEqual(status, 204, body)

    def hash(self, device, value):
        status, body = self.broker.call("PUT", f"sys/audit-hash/{device}", {"input": value})
        self.assertEqual(status, 200, body)
        return body["data"]["hash"]

    def probe(self):
        """One audited request; its status."""
        return self.broker.call("GET", "sys/mounts")[0]


class Lifecycle(AuditCase):
    def test_a_whole_lifecycle_is_logged_with_every_secret_hashed(self):
        log = self.log_path("audit.log")
        self.client.sys.enable_audit_device("file", options={"file_path": log})
        self.assertEqual(self.client.sys.list_enabled_audit_devices()["data"]["file/"]["options"]["file_path"], log)
        self.assertEqual(stat.S_IMODE(os.stat(log).st_mode), 0o600)
        pg, rd = shared_pg(), shared_redis()
        SECRETS.extend([pg["password"], rd["password"]])
        c = self.client
        c.sys.enable_secrets_engine("database")
        configure_postgres(c, "pg", pg)
        configure_redis(c, "cache", rd)
        c.secrets.database.create_role(name="app", db_name="pg", default_ttl="1h", max_ttl="2h",
                                       creation_statements=["CREATE ROLE {{name}} WITH LOGIN PASSWORD {{password}};"])
        c.secrets.database.create_role(name="cache", db_name="cache", default_ttl="1h",
                                       creation_statements=['["~cache:*", "+@read"]'])
        creds = c.secrets.database.generate_credentials("app")
        SECRETS.append(creds["data"]["password"])
        with pg_connect(pg, user=creds["data"]["username"], password=creds["data"]["password"]) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
        c.sys.renew_lease(creds["lease_id"], increment=1800)
        c.sys.revoke_lease(creds["lease_id"])
        rcreds = c.secrets.database.generate_credentials("cache")
        SECRETS.append(rcreds["data"]["password"])
        self.assertIn(rcreds["data"]["username"], redis_admin(rd).acl_users())
        c.sys.revoke_lease(rcreds["lease_id"])
        # Tokens: created, then used.
        token = c.auth.token.create(policies=["default"], meta={"team": "payments"})["auth"]["client_token"]
        SECRETS.append(token)
        self.assertEqual(self.broker.client(token).lookup_token()["data"]["meta"], {"team": "payments"})
        # AppRole: a secret ID, a login, the login's token used.
        c.sys.enable_auth_method("approle")
        c.auth.approle.create_or_update_approle("web", token_policies=["default"])
        role_id = c.auth.approle.read_role_id("web")["data"]["role_id"]
        sid = c.auth.approle.generate_secret_id("web")["data"]["secret_id"]
        SECRETS.append(sid)
        login = hvac.Client(url=self.broker.addr).auth.approle.login(role_id, sid)["auth"]["client_token"]
        SECRETS.append(login)
        self.broker.client(login).lookup_token()
        # A refused request is logged too.
        with self.assertRaises(hvac.exceptions.Forbidden):
            self.broker.client(login).sys.list_mounted_secrets_engines()

        entries = read_entries(log)
        text = open(log).read()
        for s in SECRETS:
            self.assertNotIn(s, text, "a secret is in the audit log in clear")
        # Vault's shape: the test message, then a request and a response per request, same id.
        self.assertEqual(entries[0]["request"]["path"], "sys/audit/test")
        requests = {e["request"]["id"]: e for e in entries if e["type"] == "request"}
        responses = {e["request"]["id"]: e for e in entries if e["type"] == "response"}
        self.assertEqual(set(requests) - {entries[0]["request"]["id"]}, set(responses) - {entries[1]["request"]["id"]})
        for e in entries:
            self.assertTrue(e["time"].endswith("Z"), e)
            self.assertEqual(e["request"]["namespace"], {"id": "root"})
        # The HMACs are the device's: sys/audit-hash reproduces each one the log holds.
        root_h = self.hash("file", self.broker.root_token)
        by_path = {}
        for e in entries:
            by_path.setdefault((e["type"], e["request"]["path"]), []).append(e)
        creds_resp = by_path[("response", "database/creds/app")][0]
        self.assertEqual(creds_resp["auth"]["client_token"], root_h)
        self.assertEqual(creds_resp["request"]["client_token"], root_h)
        self.assertEqual(creds_resp["response"]["data"]["password"], self.hash("file", creds["data"]["password"]))
        self.assertEqual(creds_resp["response"]["data"]["username"], self.hash("file", creds["data"]["username"]))
        self.assertEqual(creds_resp["response"]["secret"]["lease_id"], creds["lease_id"])
        self.assertEqual(creds_resp["response"]["mount_type"], "database")
        config_req = by_path[("request", "database/config/pg")][0]
        self.assertEqual(config_req["request"]["data"]["password"], self.hash("file", pg["password"]))
        self.assertIn(config_req["request"]["operation"], ("create", "update"))
        token_resp = [e for e in by_path[("response", "auth/token/create")]][0]
        self.assertEqual(token_resp["response"]["auth"]["client_token"], self.hash("file", token))
        self.assertEqual(token_resp["response"]["auth"]["metadata"], {"team": "payments"})
        sid_resp = by_path[("response", "auth/approle/role/web/secret-id")][0]
        self.assertEqual(sid_resp["response"]["data"]["secret_id"], self.hash("file", sid))
        login_req = by_path[("request", "auth/approle/login")][0]
        self.assertEqual(login_req["request"]["data"]["secret_id"], self.hash("file", sid))
        self.assertEqual(login_req["auth"], {"policy_results": {"allowed": True}, "token_type": "default"})
        login_resp = by_path[("response", "auth/approle/login")][0]
        self.assertEqual(login_resp["response"]["auth"]["client_token"], self.hash("file", login))
        lookup = [e for e in by_path[("response", "auth/token/lookup-self")]
                  if e["auth"]["client_token"] == self.hash("file", login)][0]
        self.assertEqual(lookup["response"]["data"]["id"], self.hash("file", login))
        self.assertEqual(lookup["auth"]["policies"], ["default"])
        self.assertTrue(lookup["auth"]["token_issue_time"].endswith("Z"))
        renew = by_path[("request", "sys/leases/renew")][0]
        self.assertEqual(renew["request"]["remote_address"], "127.0.0.1")
        self.assertGreater(renew["request"]["remote_port"], 0)
        denied = by_path[("response", "sys/mounts")][-1]
        self.assertIn("permission denied", denied["error"])
        self.assertEqual(denied["auth"]["policy_results"], {"allowed": False})
        # Not audited: what Vault serves outside its request path.
        self.assertNotIn(("request", "sys/health"), by_path)

    def test_rotation_with_sighup_and_a_restart_keep_the_device_and_its_salt(self):
        log = self.log_path("rotate.log")
        self.enable_file("file", log)
        before_hash = self.hash("file", self.broker.root_token)
        self.assertEqual(self.probe(), 200)
        os.rename(log, log + ".1")
        AUDIT_FILES.append(log + ".1")
        self.assertEqual(self.probe(), 200)  # still into the renamed file until SIGHUP
        self.broker.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(log), 10, "the audit log reopened after SIGHUP")
        self.assertEqual(self.probe(), 200)
        old, new = read_entries(log + ".1"), read_entries(log)
        self.assertEqual([e["request"]["path"] for e in old if e["type"] == "request"][-1], "sys/mounts")
        self.assertEqual([e["request"]["path"] for e in new], ["sys/mounts", "sys/mounts"])
        self.assertEqual(stat.S_IMODE(os.stat(log).st_mode), 0o600)
        self.assertIn("SIGHUP received", self.broker.all_logs())
        # A restart: the device is back with the same salt, and appends.
        self.broker.stop()
        self.broker.start()
        self.assertEqual(self.hash("file", self.broker.root_token), before_hash)
        self.assertEqual(self.probe(), 200)
        self.assertEqual(read_entries(log)[-1]["request"]["client_token"], before_hash)
        self.assertEqual(len(read_entries(log)), 6)
        # Disabled: the salt is gone, the path can be used anew with a new salt.
        self.assertEqual(self.broker.call("DELETE", "sys/audit/file")[0], 204)
        status, body = self.broker.call("PUT", "sys/audit-hash/file", {"input": "x"})
        self.assertEqual((status, body["errors"]), (400, ['unknown audit backend "file/"']))
        self.enable_file("file", log)
        self.assertNotEqual(self.hash("file", self.broker.root_token), before_hash)

    def test_options_and_errors(self):
        jsonx = self.log_path("x.log")
        self.enable_file("xml", jsonx, format="jsonx", hmac_accessor="false", log_raw="true",
                         elide_list_responses="true", mode="0640")
        self.assertEqual(self.broker.call("LIST", "sys/policies/acl")[0], 200)
        with open(jsonx) as f:
            lines = f.read().splitlines()
        self.assertTrue(all(l.startswith("<json:object name=\"auth\">") for l in lines), lines[:2])
        self.assertIn('<json:number name="keys">2</json:number>', lines[-1])  # elided: default and root
        self.assertEqual(stat.S_IMODE(os.stat(jsonx).st_mode), 0o640)
        self.assertEqual(self.broker.call("DELETE", "sys/audit/xml")[0], 204)
        cases = [
            ({"type": "file", "options": {"file_path": "/dev/full"}}, "audit device failed test message"),
            ({"type": "file", "options": {"file_path": self.log_path("p.log"), "prefix": "x"}},
             "audit log prefixing is not allowed"),
            ({"type": "file", "options": {"file_path": self.log_path("m.log"), "mode": "0755"}}, "cannot be executable"),
            ({"type": "socket", "options": {"address": "127.0.0.1:1", "write_timeout": "1s"}}, "Connection refused"),
            ({"type": "syslog"}, "not supported"),
        ]
        for body, text in cases:
            with self.subTest(body=body):
                status, reply = self.broker.call("PUT", "sys/audit/bad", body)
                self.assertEqual(status, 400, reply)
                self.assertIn(text, reply["errors"][0])
        self.assertEqual(self.client.sys.list_enabled_audit_devices()["data"], {})


class StdoutPrefixRaw(AuditCase):
    extra_config = {"allow_audit_log_prefixing": True}

    def test_stdout_prefix_and_log_raw_keep_secrets_hashed(self):
        rd = shared_redis()
        SECRETS.append(rd["password"])
        # file_path=stdout: the entries go to the server's standard output; log_raw shows the data
        # but never a secret.
        status, body = self.broker.call("PUT", "sys/audit/out", {
            "type": "file", "options": {"file_path": "stdout", "log_raw": "true", "hmac_accessor": "false"}})
        self.assertEqual(status, 204, body)
        log = self.log_path("prefixed.log")
        self.enable_file("pre", log, prefix="@cee: ")
        c = self.client
        c.sys.enable_secrets_engine("database")
        configure_redis(c, "cache", rd)
        c.secrets.database.create_role(name="cache", db_name="cache", default_ttl="1h",
                                       creation_statements=['["~cache:*", "+@read"]'])
        creds = c.secrets.database.generate_credentials("cache")
        SECRETS.append(creds["data"]["password"])
        c.sys.revoke_lease(creds["lease_id"])
        out = self.broker.read(self.broker.out)
        lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        resp = [e for e in lines if e["type"] == "response" and e["request"]["path"] == "database/creds/cache"]
        self.assertEqual(len(resp), 1, out[-2000:])
        data = resp[0]["response"]["data"]
        self.assertEqual(data["username"], creds["data"]["username"])  # log_raw: in clear
        self.assertEqual(data["password"], self.hash("out", creds["data"]["password"]))  # a secret: never
        self.assertNotEqual(self.hash("out", "x"), self.hash("pre", "x"))  # each device its own salt
        accessor = self.client.lookup_token()["data"]["accessor"]
        self.assertEqual(resp[0]["auth"]["accessor"], accessor)  # hmac_accessor=false
        config = [e for e in lines if e["type"] == "request" and e["request"]["path"] == "database/config/cache"][0]
        self.assertEqual(config["request"]["data"]["password"], self.hash("out", rd["password"]))
        # The prefixed file: every line is the prefix and an entry.
        with open(log) as f:
            prefixed = f.read().splitlines()
        self.assertGreater(len(prefixed), 8)
        for l in prefixed:
            self.assertTrue(l.startswith("@cee: {"), l[:80])
            json.loads(l[len("@cee: "):])
        self.assertIn(self.hash("pre", creds["data"]["password"]), "\n".join(prefixed))
        # discard: records everything (requests are served with it as the only device) and writes nothing.
        self.assertEqual(self.broker.call("DELETE", "sys/audit/out")[0], 204)
        self.assertEqual(self.broker.call("DELETE", "sys/audit/pre")[0], 204)
        status, body = self.broker.call("PUT", "sys/audit/null", {"type": "file", "options": {"file_path": "discard"}})
        self.assertEqual(status, 204, body)
        self.assertEqual(self.probe(), 200)
        self.assertEqual(self.client.sys.list_enabled_audit_devices()["data"]["null/"]["options"],
                         {"file_path": "discard"})


class FailClosed(AuditCase):
    def test_a_socket_device_and_the_fail_closed_rule(self):
        listener = LineListener()
        self.addCleanup(listener.stop)
        status, body = self.broker.call("PUT", "sys/audit/sock", {
            "type": "socket", "options": {"address": f"127.0.0.1:{listener.port}", "socket_type": "tcp"}})
        self.assertEqual(status, 204, body)
        self.assertEqual(self.probe(), 200)
        wait_for(lambda: [e for e in listener.entries() if e["request"].get("path") == "sys/mounts"
                          and e["type"] == "response"], 10, "the socket device's entries")
        got = listener.entries()
        self.assertEqual(got[0]["request"]["path"], "sys/audit/test")
        self.assertEqual(got[-1]["request"]["client_token"], self.hash("sock", self.broker.root_token))
        # The peer is gone and it is the only device: refused, before the handler runs.
        listener.stop()
        status, body = self.broker.call("PUT", "sys/policy/while-down", {"policy": 'path "a" { capabilities = ["read"] }'})
        self.assertEqual((status, body), (500, {"errors": ["1 error occurred:\n\t* internal error\n\n"]}))
        self.assertEqual(self.broker.call("GET", "sys/health")[0], 200)  # not audited, still served
        # The peer is back: served again (the device reconnects by itself).
        listener.start()
        self.assertEqual(self.probe(), 200)
        self.assertEqual(self.broker.call("GET", "sys/policy/while-down")[0], 404)  # the refused write never ran
        # A file device beside it: a dead socket no longer stops anything.
        log = self.log_path("both.log")
        self.enable_file("file", log)
        listener.stop()
        for _ in range(3):
            self.assertEqual(self.probe(), 200)
        self.assertEqual([e["type"] for e in read_entries(log)[-6:]], ["request", "response"] * 3)
        # Now the file goes too (rotated away, a directory where the log was, SIGHUP): refused.
        os.rename(log, log + ".1")
        AUDIT_FILES.append(log + ".1")
        os.mkdir(log)
        self.broker.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.probe() == 500, 10, "requests refused with both devices down")
        # Either device back is enough.
        listener.start()
        self.assertEqual(self.probe(), 200)
        listener.stop()
        self.assertEqual(self.probe(), 500)
        os.rmdir(log)
        self.assertEqual(self.probe(), 200)
        self.assertEqual(read_entries(log)[-1]["request"]["path"], "sys/mounts")
        self.assertIn("audit device file/ failed to record", self.broker.all_logs())


if __name__ == "__main__":
    unittest.main()
