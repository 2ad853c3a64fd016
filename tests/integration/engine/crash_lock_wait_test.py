"""A crash while PostgreSQL is still executing creation transactions (issue 14, item 1). The role's
creation statements wait on a lock another session holds (LOCK TABLE ... ACCESS EXCLUSIVE); the broker
is SIGKILLed at several instants of that wait and restarted at once; the lock is released later, so
a transaction of the dead process may still commit after the restart. Afterwards, every database role
with the role's prefix has a lease, every lease's role exists (or the lease was revoked), and no
pending lease was forgotten while its creation could still commit.

Instants: (1) the creations wait on the lock, the restart can reach the database; (2) they wait, the
restart cannot reach the database (a proxy refuses new connections) while the lock is released and
the creations commit; (3) the lock is released at the very moment of the kill (commits landing);
(4) the lock is released while the restarted broker settles. And the same for Redis, whose ACL SETUSER
of the dead process waits in Redis behind a busy script while the restart settles. Run with Debian's /usr/bin/python3;
CREDBROKER_BIN names the binary."""
import os
import re
import secrets
import sys
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import (Broker, configure_postgres, configure_redis, pg_connect, redis_admin, redis_users,  # noqa: E402
                    roles_with_prefix, shared_pg, shared_redis, wait_for)
from tcp_proxy import TcpProxy  # noqa: E402

REQUESTS = 3


class CrashWhileCreationWaitsOnALock(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = shared_pg()
        cls.schema = "lw_" + secrets.token_hex(4)
        with pg_connect(cls.pg) as c, c.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{cls.schema}"')
            cur.execute(f'CREATE TABLE "{cls.schema}".t (x int)')

    @classmethod
    def tearDownClass(cls):
        with pg_connect(cls.pg) as c, c.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{cls.schema}" CASCADE')

    def setUp(self):
        self.prefix = "lw" + secrets.token_hex(3) + "-"
        self.addCleanup(self.drop_roles)
        self.proxy = TcpProxy(self.pg["host"], self.pg["port"])
        self.addCleanup(self.proxy.close)
        self.broker = Broker()
        self.addCleanup(self.broker.destroy)
        self.broker.start()
        client = self.broker.client()
        client.sys.enable_secrets_engine("database")
        via_proxy = {**self.pg, "host": "127.0.0.1", "port": self.proxy.port}
        configure_postgres(client, "db", via_proxy, username_template=self.prefix + "{{random 20}}", connect_timeout=3)
        # The SELECT waits for the lock. (No GRANT on the shared table: concurrent GRANTs on one table
        # fail each other with "tuple concurrently updated" once the lock goes, and every creation of
        # the dead process should be able to commit.)
        t = f'"{self.schema}".t'
        client.secrets.database.create_role(
            name="slow", db_name="db", default_ttl="1h",
            creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
                                 f"SELECT count(*) FROM {t};"])
        self.locker = None

    def drop_roles(self):
        self.release_lock()
        with pg_connect(self.pg) as c, c.cursor() as cur:
            for name in roles_with_prefix(self.pg, self.prefix):
                cur.execute(f'DROP ROLE IF EXISTS "{name}"')

    # --- the lock and the waiting creations -------------------------------------------------------

    def take_lock(self):
        self.locker = pg_connect(self.pg)
        self.locker.autocommit = False
        with self.locker.cursor() as cur:
            cur.execute(f'LOCK TABLE "{self.schema}".t IN ACCESS EXCLUSIVE MODE')

    def release_lock(self):
        if self.locker is not None:
            self.locker.commit()
            self.locker.close()
            self.locker = None

    def broker_sessions(self, waiting_on_a_lock=False):
        """Sessions the broker (any run of it) opened that wait on a lock, or that are not idle."""
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'credbroker%%' AND " +
                        ("wait_event_type = 'Lock'" if waiting_on_a_lock else "state <> 'idle'"))
            return cur.fetchone()[0]

    def start_requests(self):
        """REQUESTS creds calls in threads; returns them once every creation waits on the lock."""
        acknowledged = []

        def issue():
            try:
                r = requests.get(f"{self.broker.addr}/v1/database/creds/slow",
                                 headers={"X-Vault-Token": self.broker.root_token}, timeout=60)
            except requests.RequestException:
                return  # the broker died under the request: never acknowledged
            if r.status_code == 200:
                acknowledged.append(r.json())

        threads = [threading.Thread(target=issue) for _ in range(REQUESTS)]
        for t in threads:
            t.start()
        wait_for(lambda: self.broker_sessions(waiting_on_a_lock=True) == REQUESTS, 20,
                 f"{REQUESTS} creations waiting on the lock")
        return threads, acknowledged

    # --- what must hold ---------------------------------------------------------------------------

    def settled_counts(self, runs_before):
        wait_for(lambda: self.broker.all_logs().count("pending leases settled") > runs_before, 30,
                 "pending leases settled at restart")
        found = re.findall(r"pending leases settled: (\d+) kept \(user exists\), (\d+) forgotten \(no user\), (\d+) left",
                           self.broker.all_logs())
        return tuple(map(int, found[-1]))

    def leases(self):
        status, listed = self.broker.call("LIST", "sys/leases/lookup/database/creds/slow/")
        if status == 404:
            return {}
        self.assertEqual(status, 200, listed)
        out = {}
        for key in listed["data"]["keys"]:
            lease_id = "database/creds/slow/" + key
            status, body = self.broker.call("PUT", "sys/leases/lookup", {"lease_id": lease_id})
            if status == 200:
                out[lease_id] = body["data"]
        return out

    def assert_users_and_leases_match(self, acknowledged):
        """Once the dead process's transactions are over: users and leases one to one, all active."""
        wait_for(lambda: self.broker_sessions() == 0, 20, "no creation of the broker running any more")
        users = set(roles_with_prefix(self.pg, self.prefix))
        leases = self.leases()
        for body in acknowledged:
            self.assertIn(body["lease_id"], leases, "an acknowledged credential lost its lease")
        self.assertEqual({d["state"] for d in leases.values()} - {"active"}, set(), "a lease is still unsettled")
        self.assertEqual(len(users), len(leases),
                         f"users {sorted(users)} and leases {sorted(leases)} must match one to one")
        # The username is not in the lookup: revoke one lease at a time and watch exactly its role go.
        for lease_id in leases:
            before = set(roles_with_prefix(self.pg, self.prefix))
            status, body = self.broker.call("PUT", "sys/leases/revoke", {"lease_id": lease_id})
            self.assertEqual(status, 204, body)
            gone = before - set(roles_with_prefix(self.pg, self.prefix))
            self.assertEqual(len(gone), 1, f"revoking {lease_id} must drop exactly its one role")
        self.assertEqual(roles_with_prefix(self.pg, self.prefix), [], "a role without a lease is left")

    # --- the instants -----------------------------------------------------------------------------

    def test_kill_while_waiting_then_restart_ends_the_dead_process_sessions(self):
        self.take_lock()
        threads, acknowledged = self.start_requests()
        self.broker.kill()
        runs = self.broker.all_logs().count("pending leases settled")
        self.broker.start()
        kept, forgotten, left = self.settled_counts(runs)
        # The restart ended the dead process's backends before it asked user_exists.
        self.assertEqual(self.broker_sessions(waiting_on_a_lock=True), 0,
                         "the dead process's creations are still waiting after the restart settled")
        self.assertEqual((kept, forgotten, left), (0, REQUESTS, 0))
        self.release_lock()
        for t in threads:
            t.join()
        self.assertEqual(acknowledged, [])
        self.assert_users_and_leases_match(acknowledged)

    def test_kill_while_waiting_and_restart_cut_off_keeps_the_leases_pending_until_it_can_settle(self):
        self.take_lock()
        threads, acknowledged = self.start_requests()
        self.broker.kill()
        self.proxy.accepting = False  # the restarted broker cannot reach the database
        runs = self.broker.all_logs().count("pending leases settled")
        self.broker.start()
        kept, forgotten, left = self.settled_counts(runs)
        self.assertEqual((kept, forgotten, left), (0, 0, REQUESTS), "nothing may be settled without the database")
        pending = self.leases()
        self.assertEqual(len(pending), REQUESTS)
        self.assertEqual({d["state"] for d in pending.values()}, {"pending"})
        # The dead process's creations commit now, while the broker still cannot look.
        self.release_lock()
        for t in threads:
            t.join()
        wait_for(lambda: len(roles_with_prefix(self.pg, self.prefix)) == REQUESTS, 20, "the dead process's commits")
        self.assertEqual(len(self.leases()), REQUESTS, "a pending lease was forgotten while its creation could commit")
        # The database is reachable again: the retries settle them, all kept (their users exist).
        self.proxy.accepting = True
        wait_for(lambda: {d["state"] for d in self.leases().values()} == {"active"}, 60, "the pending leases settled")
        self.assert_users_and_leases_match(acknowledged)

    def test_kill_as_the_lock_is_released(self):
        self.take_lock()
        threads, acknowledged = self.start_requests()
        self.release_lock()  # the creations commit now ...
        self.broker.kill()   # ... while the broker dies
        for t in threads:
            t.join()
        runs = self.broker.all_logs().count("pending leases settled")
        self.broker.start()
        kept, forgotten, left = self.settled_counts(runs)
        self.assertEqual(left, 0)
        self.assertEqual(kept + forgotten + len(acknowledged) >= REQUESTS, True)
        self.assert_users_and_leases_match(acknowledged)

    def test_lock_released_while_the_restart_settles(self):
        self.take_lock()
        threads, acknowledged = self.start_requests()
        self.broker.kill()
        runs = self.broker.all_logs().count("pending leases settled")
        releaser = threading.Timer(0.3, self.release_lock)
        releaser.start()
        self.broker.start()
        releaser.join()
        for t in threads:
            t.join()
        kept, forgotten, left = self.settled_counts(runs)
        self.assertEqual(left, 0)
        self.assertEqual(kept + forgotten, REQUESTS)
        self.assert_users_and_leases_match(acknowledged)


class CrashWhileRedisIsBusy(unittest.TestCase):
    """ACL SETUSERs of the dead process wait, already sent, behind a 3 s script on the primary; the
    restart connects meanwhile (its commands wait too). Redis then serves both in any order: the
    restart kills the dead process's connections (CLIENT KILL) before it looks with ACL GETUSER, so
    what it sees is final."""

    def test_kill_while_setusers_wait_behind_a_busy_redis(self):
        r = shared_redis()
        prefix = "LW" + secrets.token_hex(3).upper() + "_"
        nodes = (r["port"], r["replica_port"])

        def drop():
            for port in nodes:
                for u in redis_users(r, port, prefix):
                    redis_admin(r, port).acl_deluser(u)

        self.addCleanup(drop)
        broker = Broker()
        self.addCleanup(broker.destroy)
        broker.start()
        client = broker.client()
        client.sys.enable_secrets_engine("database")
        configure_redis(client, "db", r, username_template=prefix + "{{random 20}}")
        client.secrets.database.create_role(name="busy", db_name="db", default_ttl="1h",
                                            creation_statements=['["~busy:*", "+@read"]'])

        def creds(n):
            out = []

            def one():
                try:
                    res = requests.get(f"{broker.addr}/v1/database/creds/busy",
                                       headers={"X-Vault-Token": broker.root_token}, timeout=60)
                    if res.status_code == 200:
                        out.append(res.json())
                except requests.RequestException:
                    pass

            threads = [threading.Thread(target=one) for _ in range(n)]
            for t in threads:
                t.start()
            return threads, out

        # Warm the pool: REQUESTS authenticated connections per node, so the SETUSERs below are sent
        # on them at once (a fresh connection would wait for its AUTH and send nothing).
        threads, warm = creds(REQUESTS)
        for t in threads:
            t.join()
        self.assertEqual(len(warm), REQUESTS)
        for body in warm:
            self.assertEqual(broker.call("PUT", "sys/leases/revoke", {"lease_id": body["lease_id"]})[0], 204)

        busy = threading.Thread(target=lambda: redis_admin(r).eval(
            "local t = tonumber(redis.call('TIME')[1]) + 3 "
            "while tonumber(redis.call('TIME')[1]) < t do end return 1", 0))
        busy.start()
        time.sleep(0.3)
        threads, acknowledged = creds(REQUESTS)
        time.sleep(0.5)  # the SETUSERs are sent and wait behind the script
        broker.kill()
        runs = broker.all_logs().count("pending leases settled")
        broker.start()
        busy.join()
        for t in threads:
            t.join()
        wait_for(lambda: broker.all_logs().count("pending leases settled") > runs, 30, "pending leases settled at restart")
        kept, forgotten, left = map(int, re.findall(
            r"pending leases settled: (\d+) kept \(user exists\), (\d+) forgotten \(no user\), (\d+) left",
            broker.all_logs())[-1])
        self.assertEqual(left, 0)
        self.assertEqual(acknowledged, [], "the kill came after the script: nothing was tested")
        self.assertEqual(kept + forgotten, REQUESTS)
        status, listed = broker.call("LIST", "sys/leases/lookup/database/creds/busy/")
        leases = [] if status == 404 else ["database/creds/busy/" + k for k in listed["data"]["keys"]]
        for node in nodes:
            self.assertEqual(len(redis_users(r, node, prefix)), len(leases), f"users and leases on node {node}")
        for lease_id in leases:
            before = [set(redis_users(r, n, prefix)) for n in nodes]
            self.assertEqual(broker.call("PUT", "sys/leases/revoke", {"lease_id": lease_id})[0], 204)
            after = [set(redis_users(r, n, prefix)) for n in nodes]
            self.assertEqual([len(b - a) for b, a in zip(before, after)], [1, 1], f"revoking {lease_id}")
        self.assertEqual([redis_users(r, n, prefix) for n in nodes], [[], []])


if __name__ == "__main__":
    unittest.main()
