"""Root rotation and static roles through the real server on real databases: private PostgreSQL
clusters and Redis pairs for the root (whose password the test gives away), the shared servers for
static accounts. After rotate-root the old root password no longer logs in and the broker still
issues and revokes, also while issuing concurrently, and re-applying the old config is refused; a SIGKILL at each step of rotate-root leaves a
working root after a restart; a static role with rotation_period 5 s rotates on time under load and
its password always logs in; hvac's create_static_role / get_static_credentials work unchanged; and
no password appears in the logs.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import secrets
import sys
import threading
import time
import unittest
from datetime import datetime

import hvac
import psycopg2
import redis
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import (Broker, PgCluster, RedisPair, configure_postgres, configure_redis, pg_connect,  # noqa: E402
                    redis_admin, roles_with_prefix, shared_pg, shared_redis, wait_for)

PG_CREATE = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]


def redis_login(host, port, user, password):
    c = redis.Redis(host=host, port=port, username=user, password=password, socket_timeout=5,
                    single_connection_client=True)
    c.close()


def rfc3339(s):
    return datetime.fromisoformat(s)  # Python 3.11 reads Vault's RFC 3339 times, "Z" included


class Database:
    """What the tests need of a database, the same for PostgreSQL and Redis."""

    def root_logs_in(self, password):
        raise NotImplementedError

    def configure(self, client):
        raise NotImplementedError


class PrivatePostgres(Database):
    def __init__(self, test):
        self.cluster = PgCluster()
        test.addCleanup(self.cluster.destroy)
        self.settings = self.cluster.settings
        self.root_password = self.settings["password"]

    def configure(self, client):
        configure_postgres(client, "db", self.settings)
        client.secrets.database.create_role(name="app", db_name="db", default_ttl="1h", creation_statements=PG_CREATE)

    def root_logs_in(self, password):
        try:
            with pg_connect(self.settings, user="root", password=password):
                return True
        except psycopg2.OperationalError:
            return False

    def users(self):
        return roles_with_prefix(self.cluster.observer, "v-root-app-")


class PrivateRedis(Database):
    def __init__(self, test):
        self.pair = RedisPair()
        test.addCleanup(self.pair.destroy)
        self.settings = self.pair.settings
        self.root_password = self.settings["password"]

    def configure(self, client):
        configure_redis(client, "db", self.settings, connect_timeout=3)
        client.secrets.database.create_role(name="app", db_name="db", default_ttl="1h", creation_statements=[])

    def root_logs_in(self, password):
        """On every node."""
        for port in (self.settings["port"], self.settings["replica_port"]):
            try:
                redis_login("127.0.0.1", port, "admin", password)
            except redis.RedisError:
                return False
        return True

    def users(self):
        return sorted(u for u in redis_admin(self.pair.observer).acl_users() if u.startswith("V_ROOT_APP_"))


class RootRotation:
    """Mixed into a TestCase with make_database()."""

    def start(self, env=None):
        self.broker = Broker({"lease_revocation": {"backoff_base": "1s", "backoff_cap": "2s"}})
        self.addCleanup(self.broker.destroy)
        self.broker.start(env)
        self.client = self.broker.client()
        self.client.sys.enable_secrets_engine("database")
        self.db.configure(self.client)

    def issue_and_revoke(self):
        status, body = self.broker.call("GET", "database/creds/app")
        self.assertEqual(status, 200, body)
        self.passwords.append(body["data"]["password"])
        status, _ = self.broker.call("PUT", "sys/leases/revoke", {"lease_id": body["lease_id"]})
        self.assertEqual(status, 204)
        self.assertNotIn(body["data"]["username"], self.db.users())

    def setUp(self):
        self.db = self.make_database()
        self.passwords = []

    def test_rotate_root_the_old_password_stops_working_and_issuance_does_not_stop(self):
        self.start()
        self.assertTrue(self.db.root_logs_in(self.db.root_password))
        # Issue concurrently the whole time: no request may fail because of a rotation.
        failures, issued = [], []
        stop = threading.Event()

        def keep_issuing():
            s = requests.Session()
            while not stop.is_set():
                r = s.get(f"{self.broker.addr}/v1/database/creds/app", headers={"X-Vault-Token": self.broker.root_token},
                          timeout=60)
                if r.status_code != 200:
                    failures.append(r.text)
                else:
                    issued.append(r.json()["data"]["password"])
        threads = [threading.Thread(target=keep_issuing) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for _ in range(5):
                self.client.secrets.database.rotate_root_credentials("db")  # hvac's call
                time.sleep(0.2)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.passwords += issued
        self.assertEqual(failures, [])
        self.assertGreater(len(issued), 10)
        self.assertFalse(self.db.root_logs_in(self.db.root_password), "the old root password still logs in")
        self.issue_and_revoke()
        cfg = self.client.secrets.database.read_connection("db")["data"]
        self.assertNotIn("password", cfg["connection_details"])
        self.assertTrue(cfg["last_root_rotation"])
        # The original config applied again with the old root password, as a config operator does
        # (vault-config-operator #131): refused (verify_connection defaults to true), and the rotated
        # password stays in charge.
        with self.assertRaises(hvac.exceptions.InvalidRequest) as refused:
            self.db.configure(self.client)
        self.assertIn("error creating database object", str(refused.exception))
        self.assertNotIn(self.db.root_password, str(refused.exception))
        self.issue_and_revoke()
        self.broker.call("PUT", "sys/leases/revoke-prefix/database/creds/app")
        logs = self.broker.all_logs()
        self.assertIn("rotate-root", logs)
        for p in self.passwords + [self.db.root_password]:
            self.assertNotIn(p, logs)

    def test_sigkill_at_each_step_of_rotate_root_leaves_a_working_root(self):
        for step in self.crash_steps:
            with self.subTest(step=step):
                self.db = self.make_database()
                self.start({"CREDBROKER_CRASH_AT": step})
                with self.assertRaises(requests.RequestException):
                    requests.post(f"{self.broker.addr}/v1/database/rotate-root/db",
                                  headers={"X-Vault-Token": self.broker.root_token}, timeout=30)
                self.assertEqual(self.broker.wait_dead(), -9, "the crash point was not reached")
                self.broker.start()
                # The start-up settled the WAL: the broker manages the database again at once.
                wait_for(lambda: self.broker.call("GET", "database/creds/app")[0] == 200, 30, "issuance after the restart")
                self.issue_and_revoke()
                # And it can rotate again (the stored password is the one that works).
                status, body = self.broker.call("POST", "database/rotate-root/db")
                self.assertEqual(status, 204, body)
                self.assertFalse(self.db.root_logs_in(self.db.root_password))
                self.issue_and_revoke()
                self.assertNotIn(self.db.root_password, self.broker.all_logs())

    def test_scheduled_root_rotation(self):
        self.start()
        status, body = self.broker.call("POST", "database/config/db", {"root_rotation_period": 5})
        self.assertEqual(status, 204, body)
        wait_for(lambda: not self.db.root_logs_in(self.db.root_password), 20, "the scheduled root rotation")
        # The database refuses the old password a moment before the rotation stores the new config.
        wait_for(lambda: self.broker.call("GET", "database/config/db")[1]["data"]["last_root_rotation"], 20,
                 "the rotation recorded on the config")
        cfg = self.broker.call("GET", "database/config/db")[1]["data"]
        self.assertEqual(cfg["root_rotation_period"], 5)
        self.assertTrue(cfg["last_root_rotation"] and cfg["next_root_rotation"])
        self.issue_and_revoke()


class PostgresRootRotation(RootRotation, unittest.TestCase):
    crash_steps = ("rotate-root:after-wal", "rotate-root:after-db", "rotate-root:after-config")

    def make_database(self):
        return PrivatePostgres(self)


class RedisRootRotation(RootRotation, unittest.TestCase):
    crash_steps = ("rotate-root:after-wal", "redis-rotate-root:after-first-node", "redis-rotate-root:before-removing-old",
                   "rotate-root:after-db", "rotate-root:after-config")

    def make_database(self):
        return PrivateRedis(self)


class StaticRoles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = shared_pg()
        cls.r = shared_redis()
        cls.broker = Broker().start()
        cls.client = cls.broker.client()
        cls.client.sys.enable_secrets_engine("database")
        configure_postgres(cls.client, "pg", cls.pg)
        configure_redis(cls.client, "redis", cls.r)
        cls.client.secrets.database.create_role(name="load", db_name="pg", default_ttl="1h", creation_statements=PG_CREATE,
                                                revocation_statements=['DROP ROLE IF EXISTS "{{name}}";'])
        cls.tag = secrets.token_hex(3)
        cls.seen = []

    @classmethod
    def tearDownClass(cls):
        cls.broker.call("PUT", "sys/leases/revoke-prefix/database/creds/load")
        cls.broker.destroy()

    def pg_account(self, name):
        user = f"static_{self.tag}_{name}"
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute(f'CREATE ROLE "{user}" LOGIN PASSWORD %s', (secrets.token_urlsafe(16),))
        self.addCleanup(self.drop_pg, user)
        return user

    def drop_pg(self, user):
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute(f'DROP ROLE IF EXISTS "{user}"')

    def test_hvac_static_role_and_credentials_postgres(self):
        user = self.pg_account("hvac")
        db = self.client.secrets.database
        db.create_static_role(name="hvac-static", db_name="pg", username=user,
                              rotation_statements=["ALTER USER \"{{name}}\" WITH PASSWORD '{{password}}';"],
                              rotation_period=3600)
        self.assertIn("hvac-static", db.list_static_roles()["data"]["keys"])
        creds = db.get_static_credentials("hvac-static")["data"]
        self.seen.append(creds["password"])
        self.assertEqual(creds["username"], user)
        self.assertEqual(creds["rotation_period"], 3600)
        self.assertGreater(creds["ttl"], 3500)
        with pg_connect(self.pg, user=user, password=creds["password"]) as c, c.cursor() as cur:
            cur.execute("SELECT current_user")
            self.assertEqual(cur.fetchone()[0], user)
        # rotate-role (hvac 0.11.2 has no call for it: plain write)
        self.client.write("database/rotate-role/hvac-static")
        again = db.get_static_credentials("hvac-static")["data"]
        self.seen.append(again["password"])
        self.assertNotEqual(again["password"], creds["password"])
        with self.assertRaises(psycopg2.OperationalError):
            pg_connect(self.pg, user=user, password=creds["password"])
        pg_connect(self.pg, user=user, password=again["password"]).close()
        db.delete_static_role("hvac-static")
        self.assertEqual(len(roles_with_prefix(self.pg, user)), 1)  # the account stays

    def test_rotation_every_5s_on_time_under_load_and_the_password_always_logs_in(self):
        user = self.pg_account("fast")
        self.client.secrets.database.create_static_role(
            name="fast", db_name="pg", username=user,
            rotation_statements=["ALTER USER \"{{name}}\" WITH PASSWORD '{{password}}';"], rotation_period=5)
        stop = threading.Event()
        load_failures = []

        def load():  # concurrent dynamic issuance on the same database
            s = requests.Session()
            while not stop.is_set():
                r = s.get(f"{self.broker.addr}/v1/database/creds/load", headers={"X-Vault-Token": self.broker.root_token})
                if r.status_code != 200:
                    load_failures.append(r.text)
                else:
                    self.seen.append(r.json()["data"]["password"])
        threads = [threading.Thread(target=load) for _ in range(3)]
        for t in threads:
            t.start()
        rotations, logins, raced = set(), 0, 0
        try:
            deadline = time.time() + 17
            while time.time() < deadline:
                creds = self.broker.call("GET", "database/static-creds/fast")[1]["data"]
                self.seen.append(creds["password"])
                rotations.add(creds["last_vault_rotation"])
                try:
                    pg_connect(self.pg, user=user, password=creds["password"]).close()
                    logins += 1
                except psycopg2.OperationalError:
                    # Only acceptable when a rotation happened between reading and logging in: then the
                    # password served now must work.
                    fresh = self.broker.call("GET", "database/static-creds/fast")[1]["data"]
                    self.assertNotEqual(fresh["last_vault_rotation"], creds["last_vault_rotation"],
                                        "a password served by static-creds did not log in")
                    pg_connect(self.pg, user=user, password=fresh["password"]).close()
                    raced += 1
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(load_failures, [])
        self.assertGreater(logins, 50)
        # Every 5 s for 17 s: the rotation on create and three scheduled ones (one may straddle the edge).
        self.assertGreaterEqual(len(rotations), 3, rotations)
        times = sorted(rfc3339(t) for t in rotations)
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
        for g in gaps:
            self.assertGreaterEqual(g, 4.9, gaps)   # never early
            self.assertLess(g, 7.5, gaps)           # and on time (1 s ticks, a loaded machine)
        self.client.secrets.database.delete_static_role("fast")

    def test_redis_static_account(self):
        user = f"STATIC_{self.tag}"
        admin = redis_admin(self.r)
        for port in (self.r["port"], self.r["replica_port"]):
            redis_admin(self.r, port).acl_setuser(user, enabled=True, passwords=["+start-" + self.tag], keys=["*"],
                                                  commands=["+get"])
            self.addCleanup(lambda p=port: redis_admin(self.r, p).acl_deluser(user))
        self.client.secrets.database.create_static_role(name="rstatic", db_name="redis", username=user,
                                                        rotation_statements=[], rotation_period=3600)
        creds = self.client.secrets.database.get_static_credentials("rstatic")["data"]
        self.seen.append(creds["password"])
        for port in (self.r["port"], self.r["replica_port"]):
            redis_login(self.r["host"], port, user, creds["password"])  # on every node
        with self.assertRaises(redis.RedisError):
            redis_login(self.r["host"], self.r["port"], user, "start-" + self.tag)
        self.assertIsNotNone(admin.acl_getuser(user))
        self.client.secrets.database.delete_static_role("rstatic")

    def test_zz_no_static_or_issued_password_in_the_logs(self):
        logs = self.broker.all_logs()
        self.assertIn("static-creds", logs)
        self.assertGreater(len(self.seen), 10)
        for p in self.seen + [self.pg["password"], self.r["password"]]:
            self.assertNotIn(p, logs)


if __name__ == "__main__":
    unittest.main()
