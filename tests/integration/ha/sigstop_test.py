"""Two HA contender processes (tests/integration/ha/contender.cpp) on one table of the real
PostgreSQL. The leader is stopped with SIGSTOP while it writes; the other takes over once the server
has ended the silent session (idle_session_timeout = ttl); the stopped one is resumed with SIGCONT:
it observes the loss and writes nothing more, and no write of it lands after the new leader's first
(an audit trigger numbers every row write in execution order). Every acknowledged write is stored.
Run with Debian's /usr/bin/python3; CREDBROKER_HA_CONTENDER names the binary."""
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import pg_connect, shared_pg  # noqa: E402

CONTENDER = os.environ.get("CREDBROKER_HA_CONTENDER", "")
TTL_MS = 3000


class Contender:
    def __init__(self, name, table, ha_table, pg):
        conninfo = (f"host={pg['host']} port={pg['port']} dbname={pg['dbname']} user={pg['user']} "
                    f"password={pg['password']}")
        self.name = name
        self.lines = []  # (monotonic time, line)
        self.events = queue.Queue()
        self.proc = subprocess.Popen([CONTENDER, table, ha_table, name, str(TTL_MS)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "CREDBROKER_HA_CONNINFO": conninfo})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            entry = (time.monotonic(), line.strip())
            self.lines.append(entry)
            self.events.put(entry)

    def wait_for(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                at, line = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line.startswith(prefix):
                return at, line
        raise AssertionError(f"{self.name}: no '{prefix}' within {timeout}s; stderr: {self.stderr()}")

    def acks(self, after=None):
        return [l.split(" ", 1)[1] for t, l in self.lines if l.startswith("ack ") and (after is None or t > after)]

    def stderr(self):
        if self.proc.poll() is None:
            return "(running)"
        return self.proc.stderr.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)


class SigstopOfTheLeader(unittest.TestCase):
    def test_a_stopped_leader_is_replaced_and_writes_nothing_after_the_takeover(self):
        if not CONTENDER:
            raise AssertionError("CREDBROKER_HA_CONTENDER is not set")
        pg = shared_pg()
        tag = secrets.token_hex(4)
        table, ha_table, audit = f"sigstop_kv_{tag}", f"sigstop_ha_{tag}", f"sigstop_audit_{tag}"
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f"CREATE TABLE {table} (key bytea PRIMARY KEY, value bytea NOT NULL)")
            cur.execute(f"CREATE TABLE {audit} (seq bigserial PRIMARY KEY, key text NOT NULL)")
            cur.execute(f"CREATE FUNCTION {audit}_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        f"INSERT INTO {audit} (key) VALUES (convert_from(NEW.key, 'UTF8')); RETURN NEW; END $$")
            cur.execute(f"CREATE TRIGGER {audit}_t AFTER INSERT OR UPDATE ON {table} "
                        f"FOR EACH ROW EXECUTE FUNCTION {audit}_f()")
        self.addCleanup(self.drop, pg, table, ha_table, audit)

        a = Contender("a", table, ha_table, pg)
        self.addCleanup(a.stop)
        a.wait_for("leader 1", 20)
        deadline = time.monotonic() + 20
        while len(a.acks()) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        b = Contender("b", table, ha_table, pg)
        self.addCleanup(b.stop)
        time.sleep(1.0)  # b contends; a keeps writing
        self.assertFalse(any(l.startswith("leader") for _, l in b.lines), "b took over while a was running")

        a.proc.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        took_at, line = b.wait_for("leader ", TTL_MS / 1000 + 15)
        self.assertEqual(line, "leader 2")
        takeover = took_at - stopped
        deadline = time.monotonic() + 20
        while len(b.acks()) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)

        a.proc.send_signal(signal.SIGCONT)
        resumed = time.monotonic()
        lost_at, lost = a.wait_for("lost 1", 15)
        time.sleep(1.0)  # a keeps running as a standby; b keeps writing
        a.stop()
        b.stop()

        self.assertGreater(takeover, TTL_MS / 1000 * 0.8, "b took over before a's session could have timed out")
        self.assertLess(takeover, TTL_MS / 1000 + 5)
        self.assertEqual([l for t, l in a.lines if t > lost_at and l.startswith("ack")], [],
                         "a acknowledged writes after it observed the loss")
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f"SELECT convert_from(key, 'UTF8') FROM {table}")
            stored = {r[0] for r in cur.fetchall()}
            cur.execute(f"SELECT max(seq) FILTER (WHERE key LIKE 'a/%'), min(seq) FILTER (WHERE key LIKE 'b/%') "
                        f"FROM {audit}")
            last_a, first_b = cur.fetchone()
        missing = [k for k in a.acks() + b.acks() if k not in stored]
        self.assertEqual(missing, [], "acknowledged writes are missing")
        self.assertLess(last_a, first_b, "a write of the stopped leader landed after the new leader's first")
        print(f"\nSIGSTOP of the leader (ttl {TTL_MS} ms): takeover {takeover:.2f} s; resumed leader observed the "
              f"loss {lost_at - resumed:.2f} s after SIGCONT ({lost}); {len(a.acks())} + {len(b.acks())} "
              f"acknowledged writes all stored", file=sys.stderr)

    @staticmethod
    def drop(pg, table, ha_table, audit):
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table}, {ha_table}, {audit}")
            cur.execute(f"DROP FUNCTION IF EXISTS {audit}_f()")


if __name__ == "__main__":
    unittest.main()
