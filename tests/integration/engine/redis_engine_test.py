"""The database secrets engine with the Redis plugin, through the real server (SQLite storage), on
the real Redis 7 primary and replica of scripts/test-servers.sh (private pairs for tests that stop a
node): logins work on every node and only within their rules, revocation and expiry remove the user
from every node and close its live connections, a node that fails makes the lease visibly degraded
and retried (never a success), ACL SAVE is debounced, and reconciliation finds what Redis lost.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import hashlib
import json
import os
import socket
import sys
import threading
import time
import unittest

import hvac.exceptions
import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import (Broker, RedisPair, configure_redis, redis_admin, redis_users, shared_redis,  # noqa: E402
                    wait_for)


def login(r, port, creds):
    c = redis.Redis(host=r["host"], port=port, username=creds["username"], password=creds["password"],
                    socket_timeout=5, decode_responses=True, single_connection_client=True)
    return c  # single_connection_client connects (and AUTHs) at once; a refused login raises here


class RedisEngine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = shared_redis()
        cls.broker = Broker({"lease_revocation": {"backoff_base": "1s", "backoff_cap": "2s"}}).start()
        cls.client = cls.broker.client()
        cls.client.sys.enable_secrets_engine("database")
        configure_redis(cls.client, "cache", cls.r, persistence_mode="aclfile", persistence_interval="2s",
                        reconcile_interval="2s")
        cls.passwords = []
        cls.ports = (cls.r["port"], cls.r["replica_port"])

    @classmethod
    def tearDownClass(cls):
        cls.broker.destroy()

    def role(self, name, rules=None, **kw):
        self.client.secrets.database.create_role(
            name=name, db_name="cache", creation_statements=[json.dumps(rules)] if rules is not None else [], **kw)

    def creds(self, role):
        status, body = self.broker.call("GET", f"database/creds/{role}")
        self.assertEqual(status, 200, body)
        self.passwords.append(body["data"]["password"])
        return body

    def test_logins_work_on_every_node_within_their_rules_only(self):
        self.role("app", ["~app:*", "+@read", "+set"], default_ttl="1h")
        redis_admin(self.r).set("app:greeting", "hello")
        redis_admin(self.r).set("secret:key", "no")
        body = self.creds("app")
        user = body["data"]["username"]
        self.assertTrue(user.startswith("V_ROOT_APP_"), user)
        self.assertEqual(body["lease_duration"], 3600)
        wait_for(lambda: redis_admin(self.r, self.r["replica_port"]).get("app:greeting") == "hello", 10, "replication")
        for port in self.ports:
            with self.subTest(port=port):
                c = login(self.r, port, body["data"])
                self.assertEqual(c.get("app:greeting"), "hello")
                with self.assertRaises(redis.exceptions.NoPermissionError):
                    c.get("secret:key")
                with self.assertRaises(redis.exceptions.NoPermissionError):
                    c.delete("app:greeting")  # +@read +set only
                c.close()
        login(self.r, self.r["port"], body["data"]).set("app:counter", "1")  # +set on the primary
        # Renewal moves the lease only (Redis users do not expire); the login keeps working.
        self.assertEqual(self.client.sys.renew_lease(body["lease_id"], increment=7200)["lease_duration"], 7200)
        self.assertEqual(login(self.r, self.r["port"], body["data"]).get("app:greeting"), "hello")
        # The default rules: read-only on every key.
        self.role("reader")
        ro = self.creds("reader")
        c = login(self.r, self.r["port"], ro["data"])
        self.assertEqual(c.get("secret:key"), "no")
        with self.assertRaises(redis.exceptions.NoPermissionError):
            c.set("app:x", "1")
        c.close()

    def test_revoke_and_expiry_remove_the_user_from_every_node_and_close_its_connections(self):
        self.role("brief", ["~*", "+@read"], default_ttl=2)
        self.role("long", ["~*", "+@read"], default_ttl="1h")
        for how in ("revoke", "expiry"):
            with self.subTest(how=how):
                body = self.creds("long" if how == "revoke" else "brief")
                user = body["data"]["username"]
                conns = [login(self.r, port, body["data"]) for port in self.ports]
                for port in self.ports:
                    self.assertEqual(redis_users(self.r, port, user), [user])
                if how == "revoke":
                    self.client.sys.revoke_lease(body["lease_id"])
                for port in self.ports:
                    wait_for(lambda p=port: redis_users(self.r, p, user) == [], 15, f"{user} gone from :{port}")
                for c in conns:
                    with self.assertRaises(redis.exceptions.ConnectionError):
                        c.get("x")  # Redis closed the authenticated connection with ACL DELUSER
                with self.assertRaises(redis.exceptions.RedisError) as refused:
                    login(self.r, self.r["port"], body["data"])
                self.assertIn("WRONGPASS", str(refused.exception))

    def test_bad_rules_are_400_with_the_parsers_message(self):
        self.client.secrets.database.create_role(name="badjson", db_name="cache", creation_statements=['["~*", nope]'])
        status, err = self.broker.call("GET", "database/creds/badjson")
        self.assertEqual(status, 400)
        self.assertTrue(err["errors"][0].startswith("error unmarshalling REDIS rules in the creation statement JSON: "),
                        err)
        self.assertIn("parse error", err["errors"][0])
        self.client.secrets.database.create_role(name="badrule", db_name="cache", creation_statements=['["+@nonsense"]'])
        status, err = self.broker.call("GET", "database/creds/badrule")
        self.assertEqual(status, 400)
        self.assertIn("Unknown command or category name in ACL", err["errors"][0])
        for port in self.ports:
            self.assertEqual(redis_users(self.r, port, "V_ROOT_BADRULE_"), [])  # nothing left behind

    def test_acl_save_is_debounced_under_load(self):
        self.role("saver", ["~*", "+@read"], default_ttl="1h")
        def saves():
            return redis_admin(self.r).info("commandstats").get("cmdstat_acl|save", {}).get("calls", 0)
        before = saves()
        started = time.time()
        issued = [self.creds("saver") for _ in range(150)]
        elapsed = time.time() - started
        # Let the last debounced save happen, then count: one per 2 s interval at most, never one per request.
        time.sleep(3)
        count = saves() - before
        self.assertGreaterEqual(count, 1)
        self.assertLessEqual(count, int(elapsed / 2) + 2, f"{count} saves for 150 users in {elapsed:.1f}s")
        with open(os.path.join(os.environ["CREDBROKER_TEST_REDIS_DIR"], "users.acl")) as f:
            self.assertIn(issued[-1]["data"]["username"], f.read())
        with open(os.path.join(os.environ["CREDBROKER_TEST_REDIS_REPLICA_DIR"], "users.acl")) as f:
            self.assertIn(issued[-1]["data"]["username"], f.read())
        self.broker.call("PUT", "sys/leases/revoke-prefix/database/creds/saver")

    def test_reconciliation_finds_users_redis_lost_and_users_without_a_lease(self):
        configure_redis(self.client, "recon", self.r, username_template="RECON_{{random 12}}", reconcile_interval="2s")
        self.client.secrets.database.create_role(name="recon", db_name="recon", creation_statements=[], default_ttl="1h")
        kept = self.creds("recon")
        lost = self.creds("recon")
        time.sleep(2.5)  # leases issued during a check are not judged
        # The replica lost one user (a restart without persistence), and someone made a look-alike.
        redis_admin(self.r, self.r["replica_port"]).acl_deluser(lost["data"]["username"])
        redis_admin(self.r).acl_setuser("RECON_STRAYSTRAYSTRAY", enabled=True, passwords=["+x-not-a-real-one"])
        self.addCleanup(lambda: redis_admin(self.r).acl_deluser("RECON_STRAYSTRAYSTRAY"))
        status, rep = self.broker.call("GET", "database/reconcile/recon")
        self.assertEqual(status, 200, rep)
        data = rep["data"]
        self.assertEqual(data["prefix"], "RECON_")
        self.assertFalse(data["clean"])
        nodes = {n["node"]: n for n in data["nodes"]}
        primary = nodes[f"127.0.0.1:{self.r['port']}"]
        replica = nodes[f"127.0.0.1:{self.r['replica_port']}"]
        self.assertEqual(primary["leases_without_user"], [])
        self.assertEqual(primary["users_without_lease"], ["RECON_STRAYSTRAYSTRAY"])
        self.assertEqual(replica["leases_without_user"], [lost["lease_id"]])
        self.assertEqual(replica["users_without_lease"], [])
        self.assertNotIn(kept["lease_id"], replica["leases_without_user"])
        # The periodic check of this connection says the same in the log (an earlier test's connection
        # may warn about its own lost users on the replica: only recon's lines count).
        lost_line = "reconcile database/recon: 1 lease(s) whose user is gone from 127.0.0.1:" + str(self.r["replica_port"])
        stray_line = 'reconcile database/recon: 1 user(s) with prefix "RECON_" and no lease'
        wait_for(lambda: lost_line in self.broker.all_logs() and stray_line in self.broker.all_logs(), 20,
                 "the periodic reconciliation warnings")
        status, err = self.broker.call("GET", "database/reconcile/nope")
        self.assertEqual(status, 500)
        self.broker.call("PUT", "sys/leases/revoke-prefix/database/creds/recon")

    def test_zz_no_password_in_the_logs(self):
        logs = self.broker.all_logs()
        self.assertIn("/v1/database/creds/", logs)
        for p in self.passwords + [self.r["password"]]:
            self.assertNotIn(p, logs)


class RedisNodeDown(unittest.TestCase):
    """A private primary and replica; the replica goes away and comes back."""

    def setUp(self):
        self.pair = RedisPair()
        self.addCleanup(self.pair.destroy)
        self.r = self.pair.settings
        self.broker = Broker({"lease_revocation": {"backoff_base": "1s", "backoff_cap": "2s"}}).start()
        self.addCleanup(self.broker.destroy)
        self.client = self.broker.client()
        self.client.sys.enable_secrets_engine("database")
        configure_redis(self.client, "pair", self.r, connect_timeout=2)
        self.client.secrets.database.create_role(name="app", db_name="pair", creation_statements=[], default_ttl="1h")

    def test_a_replica_that_fails_is_never_reported_as_success(self):
        ports = (self.r["port"], self.r["replica_port"])
        body = self.broker.call("GET", "database/creds/app")[1]
        user = body["data"]["username"]
        self.pair.stop("replica")
        # Revocation: gone from the primary, kept (degraded, visible, retried) for the replica.
        status, err = self.broker.call("PUT", "sys/leases/revoke", {"lease_id": body["lease_id"]})
        self.assertEqual(status, 400, err)
        self.assertIn(f"failed to revoke lease: ACL DELUSER failed on 127.0.0.1:{self.r['replica_port']}", err["errors"][0])
        self.assertEqual(redis_users(self.r, ports[0], user), [])
        status, looked = self.broker.call("PUT", "sys/leases/lookup", {"lease_id": body["lease_id"]})
        self.assertEqual(status, 200)
        self.assertEqual(looked["data"]["state"], "revoking")
        self.assertIn(f"127.0.0.1:{self.r['replica_port']}", looked["data"]["revoke_error"])
        self.assertGreaterEqual(looked["data"]["revoke_attempts"], 1)
        # Issuance while the replica is down: an error, and no working login anywhere.
        started = time.time()
        status, err = self.broker.call("GET", "database/creds/app")
        self.assertEqual(status, 500, err)
        self.assertLess(time.time() - started, 10)
        self.assertIn(f"ACL SETUSER failed on 127.0.0.1:{self.r['replica_port']}", err["errors"][0])
        self.assertEqual(redis_users(self.r, ports[0], "V_ROOT_APP_"), [])
        # The replica comes back (its aclfile never had the user, but a restart may bring users back):
        # the retries finish the revocation and the lease goes.
        self.pair.start("replica")
        redis_admin(self.r, ports[1]).acl_setuser(user, enabled=True, passwords=["+back-from-a-restart"])
        wait_for(lambda: redis_users(self.r, ports[1], user) == [], 20, "the replica's copy of the user revoked")
        wait_for(lambda: self.broker.call("PUT", "sys/leases/lookup", {"lease_id": body["lease_id"]})[0] == 400, 20,
                 "the lease removed once every node dropped the user")
        # The failed issuance left a pending lease that is revoked too; afterwards nothing is left.
        self.broker.call("PUT", "sys/leases/revoke-prefix/database/creds/app")
        for port in ports:
            wait_for(lambda p=port: redis_users(self.r, p, "V_ROOT_APP_") == [], 20, f"nothing left on :{port}")
        status, _ = self.broker.call("GET", "database/creds/app")
        self.assertEqual(status, 200)  # broken pooled connections were replaced

    def test_a_restarted_redis_costs_no_failed_request(self):
        self.assertEqual(self.broker.call("GET", "database/creds/app")[0], 200)
        self.pair.stop("primary")
        self.pair.start("primary")
        status, body = self.broker.call("GET", "database/creds/app")
        self.assertEqual(status, 200, body)


class Monitor:
    """MONITOR on one Redis node in a thread, as an operator would run it: every command the node
    shows it, as text, until stop()."""

    def __init__(self, settings, port):
        self.sock = socket.create_connection((settings["host"], port), timeout=5)
        self.chunks = []
        self.sock.sendall(resp_command("AUTH", settings["user"], settings["password"]) + resp_command("MONITOR"))
        seen = b""
        while b"+OK\r\n+OK\r\n" not in seen:  # AUTH, then MONITOR answered: it is on
            seen += self.sock.recv(4096)
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._read)
        self.thread.start()

    def _read(self):
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                return
            self.chunks.append(data)

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.sock.close()
        return b"".join(self.chunks).decode("utf-8", "replace")


class WireTap:
    """A TCP relay in front of one Redis node that records what its clients send (the commands on the
    wire: hiredis 0.14 has no TLS, so this is what anyone on the network path reads)."""

    def __init__(self, host, port):
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record:
                    with self.lock:
                        self.sent.append(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def commands(self):
        """The commands sent so far, each a list of its arguments (RESP arrays of bulk strings)."""
        with self.lock:
            data = b"".join(self.sent)
        out, i = [], 0
        while i < len(data):
            end = data.index(b"\r\n", i)
            n, i = int(data[i + 1:end]), end + 2
            args = []
            for _ in range(n):
                end = data.index(b"\r\n", i)
                size = int(data[i + 1:end])
                args.append(data[end + 2:end + 2 + size].decode("utf-8", "replace"))
                i = end + 2 + size + 2
            out.append(args)
        return out

    def close(self):
        self.listener.close()


def resp_command(*args):
    out = f"*{len(args)}\r\n".encode()
    for a in args:
        b = a.encode()
        out += f"${len(b)}\r\n".encode() + b + b"\r\n"
    return out


class RedisHashedPasswords(unittest.TestCase):
    """Passwords go to Redis only as #<sha256>. On a private pair, behind a relay that records every
    command the broker sends, with MONITOR and SLOWLOG (slowlog-log-slower-than 0) on both nodes:
    issuance, a static account's creation and rotation and a root rotation never send a password in
    clear (only AUTH carries the root's own, as it must), and every password logs in."""

    def test_no_password_in_clear_on_the_wire_in_monitor_or_slowlog(self):
        pair = RedisPair()
        self.addCleanup(pair.destroy)
        r = pair.settings
        ports = (r["port"], r["replica_port"])
        taps = [WireTap(r["host"], port) for port in ports]
        for t in taps:
            self.addCleanup(t.close)
        observers = [redis_admin(pair.observer, port) for port in ports]
        for o in observers:
            o.config_set("slowlog-log-slower-than", 0)
            o.config_set("slowlog-max-len", 10000)
            o.slowlog_reset()
            o.acl_setuser("STATIC_ACCT", enabled=True, passwords=["+initial-pw"], keys=["*"], commands=["+get"])
        broker = Broker().start()
        self.addCleanup(broker.destroy)
        client = broker.client()
        client.sys.enable_secrets_engine("database")
        configure_redis(client, "pair", {**r, "port": taps[0].port}, with_replica=False,
                        replicas=[f"127.0.0.1:{taps[1].port}"])
        client.secrets.database.create_role(name="app", db_name="pair", creation_statements=[], default_ttl="1h")
        monitors = [Monitor(pair.observer, port) for port in ports]
        issued = []

        def issue():
            status, body = broker.call("GET", "database/creds/app")
            self.assertEqual(status, 200, body)
            issued.append((body["data"]["username"], body["data"]["password"]))

        for _ in range(5):
            issue()
        status, body = broker.call("POST", "database/static-roles/acct", {
            "db_name": "pair", "username": "STATIC_ACCT", "rotation_period": "1h"})
        self.assertIn(status, (200, 204), body)
        static = [broker.call("GET", "database/static-creds/acct")[1]["data"]["password"]]
        self.assertEqual(broker.call("POST", "database/rotate-role/acct")[0], 204)
        static.append(broker.call("GET", "database/static-creds/acct")[1]["data"]["password"])
        self.assertEqual(broker.call("POST", "database/rotate-root/pair")[0], 204)
        issue()  # with the new root password
        seen = [m.stop() for m in monitors]
        slowlogs = [repr(o.slowlog_get(10000)) for o in observers]
        for port in ports:
            for user, password in issued:
                login(r, port, {"username": user, "password": password}).get("k")
            login(r, port, {"username": "STATIC_ACCT", "password": static[-1]}).get("k")
            with self.assertRaises(redis.RedisError):
                login(r, port, {"username": "STATIC_ACCT", "password": static[0]})
            with self.assertRaises(redis.RedisError):  # the old root password was removed by its hash
                login(r, port, {"username": r["user"], "password": r["password"]})
        passwords = [p for _, p in issued] + static
        for node, (tap, text, slow) in enumerate(zip(taps, seen, slowlogs)):
            with self.subTest(node=node):
                commands = tap.commands()
                setusers = [c for c in commands if c[:2] == ["ACL", "SETUSER"]]
                self.assertGreaterEqual(len(setusers), len(issued) + 2 + 2)  # issuance, static x2, root add + remove
                wire = repr(commands)
                for p in passwords:
                    self.assertIn("#" + hashlib.sha256(p.encode()).hexdigest(), wire)
                    self.assertNotIn(p, wire)
                    self.assertNotIn(p, text)
                    self.assertNotIn(p, slow)
                self.assertIn("!" + hashlib.sha256(r["password"].encode()).hexdigest(), wire)
                for c in commands:
                    if c[0].upper() != "AUTH":  # only a login carries the root's password itself
                        self.assertNotIn(r["password"], repr(c))
                self.assertNotIn(r["password"], text)  # MONITOR redacts AUTH and skips ACL (admin) commands
                self.assertIn("SETUSER", slow)         # the slowlog has them, redacted by Redis 7
                self.assertNotIn(r["password"], slow)
        broker.call("PUT", "sys/leases/revoke-prefix/database/creds/app")
        logs = broker.all_logs()
        for p in passwords:
            self.assertNotIn(p, logs)


class RedisConfig(unittest.TestCase):
    def test_config_errors_are_400_with_clear_texts(self):
        r = shared_redis()
        broker = Broker().start()
        self.addCleanup(broker.destroy)
        client = broker.client()
        client.sys.enable_secrets_engine("database")
        cases = [
            ({"tls": True}, "tls not supported by this build"),
            ({"replicas": ["nope"]}, 'replicas[0] must be "host:port"'),
            ({"replicas": [f"127.0.0.1:{r['port']}"]}, "replicas[0] repeats 127.0.0.1:"),
            ({"persistence_mode": "rewrite"}, 'persistence_mode must be "none" or "aclfile"'),
            ({"persistence_interval": "0s"}, "persistence_interval must be a duration of at least 1s"),
            ({"max_open_connections": 0}, "max_open_connections must be between 1 and 1024"),
            ({"username_template": "{{ .Nope }}"}, "invalid username template"),
            ({"password": "wrong-password-4711"}, "error verifying connection"),
        ]
        for extra, text in cases:
            with self.subTest(extra=extra):
                with self.assertRaises(hvac.exceptions.InvalidRequest) as bad:
                    configure_redis(client, "x", r, with_replica=False, **extra)
                self.assertIn(text, str(bad.exception))
                self.assertNotIn("wrong-password-4711", str(bad.exception))


if __name__ == "__main__":
    unittest.main()
