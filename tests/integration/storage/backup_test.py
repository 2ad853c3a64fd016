"""credbroker backup and restore against the real binary and PostgreSQL: a backup taken while the
server issues credentials is a whole store; restored into a new server unsealed with the same keys, it
still revokes every lease it holds (at expiry and on revoke-prefix), and both commands refuse what
could lose data (an existing target, a store already in place, a stale -wal, a damaged backup).
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import BIN, Broker, configure_postgres, pg_connect, roles_with_prefix, shared_pg, wait_for  # noqa: E402

SHORT_TTL = 8


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


class BackupRestore(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="credbroker-backup-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def creds(self, broker, role):
        status, body = broker.call("GET", f"database/creds/{role}")
        self.assertEqual(status, 200, body)
        return body["lease_id"], body["data"]["username"]

    def test_online_backup_restored_into_a_new_server_revokes_every_lease(self):
        pg = shared_pg()
        tag = secrets.token_hex(3)
        a = Broker()
        self.addCleanup(a.destroy)
        a.start()
        client = a.client()
        client.sys.enable_secrets_engine("database")
        configure_postgres(client, "pg", pg, username_template=f"bk{tag}-{{{{.RoleName}}}}-{{{{random 12}}}}")
        for role, ttl in (("long", "1h"), ("short", SHORT_TTL), ("during", "1h")):
            client.secrets.database.create_role(
                name=role, db_name="pg", default_ttl=ttl,
                creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"],
                revocation_statements=["DROP ROLE IF EXISTS \"{{name}}\";"])
        self.addCleanup(self.drop_leftovers, pg, f"bk{tag}-")
        long = [self.creds(a, "long") for _ in range(20)]
        # Online: issuance goes on while the backup runs.
        stop = threading.Event()
        during = []

        def keep_issuing():
            while not stop.is_set():
                during.append(self.creds(a, "during"))

        t = threading.Thread(target=keep_issuing)
        t.start()
        short = [self.creds(a, "short") for _ in range(10)]
        backup = os.path.join(self.tmp, "store.db")
        r = run("backup", "-config", a.config_path, backup)
        stop.set()
        t.join()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^Success! Backed up \d+ keys \(\d+ bytes\) to " + re.escape(backup))
        self.assertEqual(stat.S_IMODE(os.stat(backup).st_mode), 0o600)
        self.assertTrue(during, "issuance ran during the backup")
        # A backup never overwrites a file.
        again = run("backup", "-config", a.config_path, backup)
        self.assertEqual(again.returncode, 1)
        self.assertIn("exists: a backup never overwrites a file", again.stderr)
        # The leases issued while the backup ran are revoked by the old server before it dies, so the
        # restored one may hold some of them (their users already gone): it must cope.
        status, _ = a.call("PUT", "sys/leases/revoke-prefix/database/creds/during")
        self.assertEqual(status, 204)
        key = open(a.key_file).read()
        a.kill()

        b = Broker()
        self.addCleanup(b.destroy)
        with open(b.key_file, "w") as f:
            f.write(key)
        b.root_token = a.root_token
        r = run("restore", "-config", b.config_path, backup)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Success! Restored", r.stdout)
        data = os.path.join(b.dir, "data")
        self.assertEqual(stat.S_IMODE(os.stat(data).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(data, "credbroker.db")).st_mode), 0o600)
        # Restore never overwrites a store.
        twice = run("restore", "-config", b.config_path, backup)
        self.assertEqual(twice.returncode, 2)
        self.assertIn("holds a store: restore never overwrites one", twice.stderr)
        b.start()  # auto-unseals with the backed-up store's key; the root token is the old one
        status, listed = b.call("LIST", "sys/leases/lookup/database/creds/long/")
        self.assertEqual(status, 200, listed)
        self.assertEqual(sorted(listed["data"]["keys"]), sorted(l.rsplit("/", 1)[1] for l, _ in long))
        # The short leases fall due in the new server and their users are dropped.
        wait_for(lambda: roles_with_prefix(pg, f"bk{tag}-short-") == [], SHORT_TTL + 30, "short leases revoked")
        # Every long lease still revokes its user.
        self.assertEqual(len(roles_with_prefix(pg, f"bk{tag}-long-")), len(long))
        status, _ = b.call("PUT", "sys/leases/revoke-prefix/database/creds/long")
        self.assertEqual(status, 204)
        self.assertEqual(roles_with_prefix(pg, f"bk{tag}-long-"), [])
        status, body = b.call("PUT", "sys/leases/revoke-prefix/database/creds/during")
        self.assertEqual(status, 204, body)
        self.assertEqual(roles_with_prefix(pg, f"bk{tag}-"), [])
        # No issued password in either command's output.
        self.assertNotIn("password", (r.stdout + r.stderr).lower())

    def config(self, storage):
        path = os.path.join(self.tmp, f"cfg-{secrets.token_hex(3)}.json")
        with open(path, "w") as f:
            json.dump({"listener": {"tcp": {"address": "127.0.0.1:1", "tls_disable": True}}, "storage": storage}, f)
        return path

    def test_refusals(self):
        store_dir = os.path.join(self.tmp, "data")
        cfg = self.config({"sqlite": {"path": store_dir}})
        # No store to back up.
        r = run("backup", "-config", cfg, os.path.join(self.tmp, "x.db"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.db")))
        # A damaged backup is refused before anything is put in place.
        bad = os.path.join(self.tmp, "bad.db")
        with open(bad, "wb") as f:
            f.write(b"SQLite format 3\0" + os.urandom(4096))
        r = run("restore", "-config", cfg, bad)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(store_dir, "credbroker.db")))
        # An SQLite file that is not a store.
        other = os.path.join(self.tmp, "other.db")
        subprocess.run(["python3", "-c", f"import sqlite3; c=sqlite3.connect({other!r}); c.execute('create table t(x)'); c.commit()"],
                       check=True)
        r = run("restore", "-config", cfg, other)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a credbroker store (no kv table)", r.stderr)
        # A stale write-ahead log where the store would go.
        os.makedirs(store_dir, exist_ok=True)
        open(os.path.join(store_dir, "credbroker.db-wal"), "w").close()
        good = os.path.join(self.tmp, "good.db")
        subprocess.run(["python3", "-c", f"import sqlite3; c=sqlite3.connect({good!r}); c.execute('create table kv(key text primary key, value blob)'); c.commit()"],
                       check=True)
        r = run("restore", "-config", cfg, good)
        self.assertEqual(r.returncode, 2)
        self.assertIn("credbroker.db-wal\" exists", r.stderr)
        # A postgresql store has no file: pg_dump.
        r = run("backup", "-config", self.config({"postgresql": {"connection_url": "postgresql://u@127.0.0.1:1/db"}}),
                os.path.join(self.tmp, "pg.db"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("pg_dump", r.stderr)
        # Usage.
        self.assertEqual(run("backup").returncode, 2)
        h = run("restore", "-help")
        self.assertEqual(h.returncode, 0)
        self.assertIn("Usage: credbroker restore -config FILE BACKUP", h.stdout)

    @staticmethod
    def drop_leftovers(pg, prefix):
        with pg_connect(pg) as c, c.cursor() as cur:
            for name in roles_with_prefix(pg, prefix):
                cur.execute(f'DROP ROLE IF EXISTS "{name}"')


if __name__ == "__main__":
    unittest.main()
