"""Storage damage never resets security state: the real server (SQLite storage) refuses to start or
to unseal a store that lost what keeps it secure, naming what is missing, and goes on only when the
operator asks for it with -fresh-store. Also the modes of the data directory and its files.

  an emptied (0-byte) credbroker.db, or a deleted one, with a key file holding keys   -> start refused
  a missing token salt / mount table / auth method table                              -> unseal refused
                                                  (at start with unseal_key_file, or on sys/unseal)
  data directory others may write, database file others may read                     -> start refused
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import hvac

from server_process_test import BIN, free_port, Server


def request(addr, method, path, body=None, token=None):
    """(status, parsed body) of one HTTP call."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{addr}/v1/{path}", data=data, method=method,
                                 headers={"X-Vault-Token": token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


class StorageDamage(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="credbroker-damage-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.data = os.path.join(self.dir, "data")
        self.db = os.path.join(self.data, "credbroker.db")
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.keyfile = os.path.join(self.dir, "unseal.keys")

    def config(self, key_file=True):
        cfg = {"listener": {"tcp": {"address": f"127.0.0.1:{self.port}", "tls_disable": True}},
               "storage": {"sqlite": {"path": self.data}}, "log_level": "info"}
        if key_file:
            cfg["unseal_key_file"] = self.keyfile
        path = os.path.join(self.dir, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def start(self, *flags, key_file=True):
        s = Server.__new__(Server)
        s.port, s.addr = self.port, self.addr
        s.errfile = tempfile.TemporaryFile(mode="w+")
        s.outfile = tempfile.TemporaryFile(mode="w+")
        s.proc = subprocess.Popen([BIN, "server", "-config", self.config(key_file), *flags], stdout=s.outfile,
                                  stderr=s.errfile)
        s.wait_until_up()
        self.addCleanup(s.stop)
        return s

    def refused(self, *flags, key_file=True):
        """Runs the server expecting it to stop at start-up: (exit code, stderr)."""
        r = subprocess.run([BIN, "server", "-config", self.config(key_file), *flags], capture_output=True, text=True,
                           timeout=60)
        return r.returncode, r.stderr

    def initialised_store(self, setup=None):
        """A store initialised with one key (kept in the key file), set up by `setup(client)`, then stopped."""
        s = self.start(key_file=False)
        client = hvac.Client(url=self.addr)
        init = client.sys.initialize(secret_shares=1, secret_threshold=1)
        client.sys.submit_unseal_keys(init["keys"])
        client.token = init["root_token"]
        if setup:
            setup(client)
        self.assertEqual(s.stop(), 0)
        fd = os.open(self.keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(init["keys"][0] + "\n")
        return init["keys"][0], init["root_token"]

    def delete_key(self, key):
        with sqlite3.connect(self.db) as c:
            self.assertEqual(c.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount, 1, key)

    def test_an_emptied_or_deleted_database_file_is_refused(self):
        self.initialised_store()
        for f in ("", "-wal", "-shm"):
            if os.path.exists(self.db + f):
                os.truncate(self.db + f, 0)
        # Before: the server started uninitialised and anyone could sys/init and become root.
        code, err = self.refused()
        self.assertEqual(code, 1, err)
        self.assertIn(f'storage file "{self.db}" is empty (0 bytes)', err)
        self.assertIn("-fresh-store", err)

        # The file deleted instead: SQLite makes a new one, but the key file still holds keys.
        for f in ("", "-wal", "-shm"):
            if os.path.exists(self.db + f):
                os.remove(self.db + f)
        code, err = self.refused()
        self.assertEqual(code, 1, err)
        self.assertIn("holds unseal keys, but the store is not initialised (no core/seal-config)", err)

        # Asked for: a new, uninitialised store (and a warning saying so).
        os.truncate(self.db, 0)
        s = self.start("-fresh-store")
        self.assertFalse(hvac.Client(url=self.addr).sys.is_initialized())
        self.assertIn("starting uninitialised because -fresh-store was given", s.stderr())

    def test_missing_security_state_is_refused_naming_it(self):
        cases = [
            ("auth/token/salt", "the token salt (auth/token/salt)", None),
            ("core/mounts", "the secrets engine mount table (core/mounts)",
             lambda c: c.sys.enable_secrets_engine("database", path="database")),
            ("core/auth", "the auth method table (core/auth)",
             lambda c: c.sys.enable_auth_method("approle", path="approle")),
        ]
        for key, named, setup in cases:
            with self.subTest(key=key):
                shutil.rmtree(self.data, ignore_errors=True)
                unseal_key, root = self.initialised_store(setup)
                self.delete_key(key)

                # At start, with the key file: the start stops, naming what is missing.
                code, err = self.refused()
                self.assertEqual(code, 1, err)
                self.assertIn("storage is damaged, refusing to unseal: missing " + named, err)

                # Unsealed by hand: refused the same way, and the server stays sealed.
                s = self.start(key_file=False)
                status, body = request(self.addr, "PUT", "sys/unseal", {"key": unseal_key})
                self.assertEqual(status, 400, body)
                self.assertIn("missing " + named, body["errors"][0])
                self.assertEqual(request(self.addr, "GET", "sys/health")[0], 503)
                self.assertEqual(s.stop(), 0)

                # Asked for: recreated empty, with a warning naming it and what it costs.
                s = self.start("-fresh-store")
                self.assertEqual(request(self.addr, "GET", "sys/health")[0], 200)
                self.assertIn(f"({key}) was missing and is recreated empty because -fresh-store was given", s.stderr())
                root_works = request(self.addr, "GET", "auth/token/lookup-self", token=root)[0] == 200
                self.assertEqual(root_works, key != "auth/token/salt")  # a new salt: every old token is dead
                if key == "core/mounts":
                    self.assertNotIn("database/", request(self.addr, "GET", "sys/mounts", token=root)[1]["data"])
                if key == "core/auth":
                    self.assertNotIn("approle/", request(self.addr, "GET", "sys/auth", token=root)[1]["data"])
                self.assertEqual(s.stop(), 0)
                # Once: the next start is an ordinary one.
                s = self.start()
                self.assertEqual(request(self.addr, "GET", "sys/health")[0], 200)
                self.assertNotIn("was missing", s.stderr())
                self.assertEqual(s.stop(), 0)

    def test_data_directory_and_file_modes(self):
        self.initialised_store()
        # The broker made them private itself.
        self.assertEqual(stat.S_IMODE(os.stat(self.data).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.db).st_mode), 0o600)

        os.chmod(self.db, 0o644)
        code, err = self.refused()
        self.assertEqual(code, 2, err)
        self.assertIn(f'storage file "{self.db}" is readable or writable by group or others (mode 0644): run chmod 600 on it',
                      err)
        os.chmod(self.db, 0o600)

        os.chmod(self.data, 0o777)
        code, err = self.refused()
        self.assertEqual(code, 2, err)
        self.assertIn(f'data directory "{self.data}" is writable by group or others (mode 0777)', err)

        # Others may only list it: accepted, with a warning.
        os.chmod(self.data, 0o755)
        s = self.start()
        self.assertEqual(request(self.addr, "GET", "sys/health")[0], 200)
        self.assertIn(f'data directory "{self.data}" can be listed by group or others (mode 0755): run chmod 700 on it',
                      s.stderr())
        for f in ("", "-wal", "-shm"):
            if os.path.exists(self.db + f):
                self.assertEqual(stat.S_IMODE(os.stat(self.db + f).st_mode), 0o600, f)


if __name__ == "__main__":
    unittest.main()
