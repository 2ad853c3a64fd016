"""Three credbroker servers in HA mode on one PostgreSQL table (storage.postgresql.ha_enabled), on
loopback: one active, two standbys. A few thousand leases (HA3_LEASES, default 10,000), then a mixed
load of creds/renew/revoke through all three nodes while the active is killed with SIGKILL, and the
next active is stopped with SIGSTOP for longer than the leadership's TTL and resumed with SIGCONT.
Asserts and prints: the takeover time (SIGKILL -> first successful creds through any node, goal
<= 5 s), no acknowledged lease lost, no database user without a lease, every expired lease revoked
exactly once (the revocation statements count themselves in a table), no storage write by the paused
former active after the next active's first write (a trigger numbers every row write with the
session that made it), the resumed node is a standby again, and a standby answers 429 on sys/health,
forwards creds, and redirects with 307 when asked not to forward.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import BIN, pg_connect, pg_url, roles_with_prefix, shared_pg, wait_for  # noqa: E402
from ha_cluster import TTL_S, Node, drop_all, start_cluster  # noqa: E402

LEASES = int(os.environ.get("HA3_LEASES", "10000"))


class ThreeNodes(unittest.TestCase):
    def test_takeover_after_sigkill_and_sigstop_loses_nothing(self):
        if not BIN:
            raise AssertionError("CREDBROKER_BIN is not set")
        pg = shared_pg()
        tag = secrets.token_hex(3)
        table, ha_table = f"ha3_kv_{tag}", f"ha3_ha_{tag}"
        writes, revoked = f"ha3_writes_{tag}", f"ha3_revoked_{tag}"
        prefix = f"ha3{tag}-"
        root_dir = tempfile.mkdtemp(prefix="credbroker-ha3-")
        self.addCleanup(shutil.rmtree, root_dir, True)
        self.addCleanup(drop_all, pg, [table, ha_table, writes, revoked], prefix)
        with pg_connect(pg) as c, c.cursor() as cur:
            # Every row write numbered in execution order with the session that made it.
            cur.execute(f"CREATE TABLE {table} (key bytea PRIMARY KEY, value bytea NOT NULL)")
            cur.execute(f"CREATE TABLE {writes} (seq bigserial PRIMARY KEY, pid int NOT NULL)")
            cur.execute(f"CREATE FUNCTION {writes}_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        f"INSERT INTO {writes} (pid) VALUES (pg_backend_pid()); RETURN NULL; END $$")
            cur.execute(f"CREATE TRIGGER {writes}_t AFTER INSERT OR UPDATE OR DELETE ON {table} "
                        f"FOR EACH ROW EXECUTE FUNCTION {writes}_f()")
            cur.execute(f"CREATE TABLE {revoked} (name text NOT NULL)")
            cur.execute(f"GRANT INSERT ON {revoked} TO PUBLIC")

        nodes = [Node(n, root_dir, pg, table, ha_table) for n in ("a", "b", "c")]
        for n in nodes:
            self.addCleanup(n.stop)
        a = nodes[0]
        token = start_cluster(nodes)["root_token"]
        H = {"X-Vault-Token": token}

        # Standbys: Vault's health codes and sys/leader.
        b = nodes[1]
        self.assertEqual(b.health("?standbyok=true"), 200)
        self.assertEqual(b.health("?standbycode=472"), 472)
        lb = wait_for(lambda: (lambda l: l if l["leader_address"] else None)(b.leader()), 10, "b knows the active")
        self.assertEqual((lb["ha_enabled"], lb["is_self"], lb["leader_address"]), (True, False, a.addr), lb)
        la = a.leader()
        self.assertEqual((la["is_self"], la["leader_address"], la["leader_cluster_address"]),
                         (True, a.addr, f"https://127.0.0.1:{a.port + 1}"), la)
        print(f"\nstandby b: sys/health 429, standbyok 200, sys/leader {lb}")

        # Configuration through a standby (forwarded to the active).
        def ok(r):
            self.assertLess(r.status_code, 300, r.text)
            return r
        ok(requests.post(f"{b.addr}/v1/sys/mounts/database", json={"type": "database"}, headers=H, timeout=30))
        ok(requests.post(f"{b.addr}/v1/database/config/pg", headers=H, timeout=30, json={
            "plugin_name": "postgresql-database-plugin", "allowed_roles": "*", "connection_url": pg_url(pg),
            "username": pg["user"], "password": pg["password"], "max_open_connections": 8,
            "username_template": prefix + "{{.RoleName}}-{{random 12}}"}))
        create = ["CREATE ROLE \"{{name}}\" WITH LOGIN VALID UNTIL '{{expiration}}';"]
        revoke = [f"INSERT INTO {revoked} (name) VALUES ('{{{{name}}}}');", "DROP ROLE IF EXISTS \"{{name}}\";"]
        for role, ttl in (("app", "1h"), ("short", "6s")):
            ok(requests.post(f"{b.addr}/v1/database/roles/{role}", headers=H, timeout=30, json={
                "db_name": "pg", "default_ttl": ttl, "max_ttl": "24h", "creation_statements": create,
                "revocation_statements": revoke}))
        r = ok(requests.get(f"{b.addr}/v1/database/creds/app", headers=H, timeout=30))
        self.assertTrue(r.json()["data"]["username"].startswith(prefix + "app-"))
        r = requests.get(f"{b.addr}/v1/database/creds/app", headers={**H, "X-Vault-No-Request-Forwarding": "true"},
                         timeout=30, allow_redirects=False)
        self.assertEqual((r.status_code, r.headers.get("Location")), (307, f"{a.addr}/v1/database/creds/app"))
        print("standby b: creds forwarded (200), with X-Vault-No-Request-Forwarding 307 to the active")

        # State shared by the load threads.
        lock = threading.Lock()
        acked = {}          # lease id -> username: creds answered 200
        revoked_ok = set()  # revocations answered 2xx
        doubtful = set()    # revocations with no answer: the lease may or may not be gone
        successes = []      # (sent, answered) monotonic times of creds answered 200
        stop = threading.Event()

        def issue(node, session, role="app"):
            sent = time.monotonic()
            try:
                r = session.get(f"{node.addr}/v1/database/creds/{role}", headers=H, timeout=4)
            except requests.RequestException:
                return None
            if r.status_code != 200:
                return None
            body = r.json()
            with lock:
                acked[body["lease_id"]] = body["data"]["username"]
                successes.append((sent, time.monotonic()))
            return body["lease_id"]

        # Preload through all three nodes.
        started = time.monotonic()
        count = [0]

        def preload(i):
            s = requests.Session()
            while True:
                with lock:
                    if count[0] >= LEASES:
                        return
                    count[0] += 1
                if issue(nodes[i % 3], s) is None:
                    with lock:
                        count[0] -= 1
        threads = [threading.Thread(target=preload, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"preloaded {len(acked)} leases through three nodes in {time.monotonic() - started:.1f}s")

        # Short leases that expire while the nodes fail over.
        s = requests.Session()
        short = [l for l in (issue(nodes[i % 3], s, "short") for i in range(150)) if l]
        self.assertEqual(len(short), 150)

        def mixed(i):
            session = requests.Session()
            rng = random.Random(i)
            while not stop.is_set():
                node = nodes[rng.randrange(3)]
                with lock:
                    mine = list(acked)[-200:] if acked else []
                op = rng.random()
                if op < 0.7 or not mine:
                    issue(node, session)
                    continue
                lease = rng.choice(mine)
                if lease.startswith("database/creds/short/"):
                    continue
                if op < 0.85:
                    try:
                        session.put(f"{node.addr}/v1/sys/leases/renew", json={"lease_id": lease, "increment": 3600},
                                    headers=H, timeout=4)
                    except requests.RequestException:
                        pass
                else:
                    with lock:
                        if lease in revoked_ok or lease in doubtful:
                            continue
                        doubtful.add(lease)
                    try:
                        r = session.put(f"{node.addr}/v1/sys/leases/revoke", json={"lease_id": lease}, headers=H,
                                        timeout=4)
                        if r.status_code < 300:
                            with lock:
                                doubtful.discard(lease)
                                revoked_ok.add(lease)
                    except requests.RequestException:
                        pass
        load = [threading.Thread(target=mixed, args=(i,)) for i in range(9)]
        for t in load:
            t.start()
        time.sleep(2)

        def holders():
            with pg_connect(pg) as c, c.cursor() as cur:
                cur.execute(f"SELECT epoch, holder, lock_pid FROM {ha_table}")
                return cur.fetchall()

        # 1. SIGKILL the active.
        killed_at = time.monotonic()
        a.signal(signal.SIGKILL)
        a.proc.wait()
        # Only a request sent after the kill counts (an answer of the killed node may still arrive).
        wait_for(lambda: any(sent > killed_at for sent, _ in successes), 30, "creds through any node after the kill")
        takeover = min(done for sent, done in successes if sent > killed_at) - killed_at
        print(f"takeover after SIGKILL of the active: {takeover:.2f}s (first successful creds through any node)")
        second = wait_for(lambda: next((n for n in nodes[1:] if n.health() == 200), None), 20, "a new active")
        third = next(n for n in nodes[1:] if n is not second)
        wait_for(lambda: third.health() == 429 and third.leader()["leader_address"] == second.addr, 20,
                 "the other standby follows the new active")
        restored = wait_for(lambda: re.search(r"restored (\d+) leases in ([\d.]+)s", second.logs()), 60,
                            "the new active's restore")
        print(f"the new active served at once and restored {restored.group(1)} leases in {restored.group(2)}s "
              f"in the background")
        epoch2, _, pid2 = holders()[0]
        time.sleep(2)

        # 2. SIGSTOP the new active for longer than the TTL; the third node takes over.
        second.signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        wait_for(lambda: third.health() == 200, TTL_S + 15, "the third node active while the second is stopped")
        paused_takeover = time.monotonic() - stopped_at
        epoch3, _, pid3 = holders()[0]
        self.assertGreater(epoch3, epoch2)
        time.sleep(max(0.0, TTL_S + 2 - (time.monotonic() - stopped_at)))
        second.signal(signal.SIGCONT)
        resumed_at = time.monotonic()
        wait_for(lambda: second.health() == 429, 10, "the resumed node a standby again")
        print(f"SIGSTOP of the next active: the third node active after {paused_takeover:.2f}s; the resumed node "
              f"a standby after {time.monotonic() - resumed_at:.2f}s")
        time.sleep(3)
        stop.set()
        for t in load:
            t.join()
        active = third

        # Every short lease expired and was revoked exactly once.
        def short_left():
            with pg_connect(pg) as c, c.cursor() as cur:
                cur.execute(f"SELECT count(*) FROM {revoked} WHERE starts_with(name, %s)", (prefix + "short-",))
                return cur.fetchone()[0]
        wait_for(lambda: short_left() >= 150, 60, "the 150 short leases revoked")
        time.sleep(1)
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f"SELECT name, count(*) FROM {revoked} GROUP BY name HAVING count(*) > 1")
            twice = cur.fetchall()
        self.assertEqual(twice, [], "leases revoked more than once")
        self.assertEqual(roles_with_prefix(pg, prefix + "short-"), [])
        print(f"150 short leases expired during the failovers: each revoked once, no role left")

        # No write of the paused former active after the third node's first write.
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f"SELECT min(seq) FROM {writes} WHERE pid = %s", (pid3,))
            first3 = cur.fetchone()[0]
            cur.execute(f"SELECT count(*), max(seq) FROM {writes} WHERE pid = %s", (pid2,))
            n2, last2 = cur.fetchone()
        self.assertIsNotNone(first3)
        self.assertGreater(n2, 0)
        self.assertLess(last2, first3, "the paused former active wrote after the takeover")
        print(f"paused former active: {n2} row writes, the last (#{last2}) before the new active's first (#{first3})")

        # No acknowledged lease lost; no database user without a lease.
        r = requests.request("LIST", f"{active.addr}/v1/sys/leases/lookup/database/creds/app/", headers=H, timeout=60)
        self.assertEqual(r.status_code, 200, r.text)
        present = {"database/creds/app/" + k for k in r.json()["data"]["keys"]}
        expected = {l for l in acked if l.startswith("database/creds/app/")} - revoked_ok - doubtful
        lost = sorted(expected - present)
        self.assertEqual(lost, [], "acknowledged leases lost")
        self.assertEqual(sorted(revoked_ok & present), [], "leases whose revocation was acknowledged came back")
        wait_for(lambda: len(roles_with_prefix(pg, prefix + "app-")) <= len(present), 60, "no role without a lease")
        roles = set(roles_with_prefix(pg, prefix + "app-"))
        missing_users = [acked[l] for l in expected if acked[l] not in roles]
        self.assertEqual(missing_users, [], "acknowledged leases whose user is gone")
        self.assertEqual([acked[l] for l in revoked_ok if acked[l] in roles], [], "revoked users still exist")
        print(f"{len(acked)} leases acknowledged, {len(revoked_ok)} revoked, {len(expected)} expected and all "
              f"present; {len(roles)} app roles <= {len(present)} leases")
        self.assertLessEqual(takeover, 5.0, f"takeover took {takeover:.2f}s")
        for n in nodes:
            self.assertNotIn(pg["password"], n.logs())


if __name__ == "__main__":
    unittest.main()
