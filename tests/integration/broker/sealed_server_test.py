"""A persistent (SQLite) server as an operator runs it: init, unseal and seal with hvac and with the
credbroker CLI, auto-unseal from a key file, bad storage, and SIGKILL during acknowledged writes."""
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import hvac

from server_process_test import BIN, free_port, Server


class PersistentServer(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="credbroker-sealed-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.keyfile = os.path.join(self.dir, "unseal.keys")

    def config(self, **extra):
        cfg = {"listener": {"tcp": {"address": f"127.0.0.1:{self.port}", "tls_disable": True}},
               "storage": {"sqlite": {"path": os.path.join(self.dir, "data")}}}
        cfg.update(extra)
        path = os.path.join(self.dir, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def start(self, **extra):
        s = Server.__new__(Server)
        s.port = self.port
        s.addr = self.addr
        s.errfile = tempfile.TemporaryFile(mode="w+")
        s.outfile = tempfile.TemporaryFile(mode="w+")
        s.proc = subprocess.Popen([BIN, "server", "-config", self.config(**extra)], stdout=s.outfile,
                                  stderr=s.errfile)
        s.wait_until_up()
        return s

    def cli(self, *args, token=None, stdin=None):
        env = dict(os.environ, VAULT_ADDR=self.addr)
        env.pop("VAULT_TOKEN", None)
        if token:
            env["VAULT_TOKEN"] = token
        return subprocess.run([BIN, *args], capture_output=True, text=True, env=env, input=stdin, timeout=30)

    def test_hvac_and_cli_lifecycle(self):
        s = self.start()
        try:
            client = hvac.Client(url=self.addr)
            self.assertFalse(client.sys.is_initialized())
            self.assertEqual(self.cli("status").returncode, 2)
            init = client.sys.initialize(secret_shares=3, secret_threshold=2)
            keys, root = init["keys"], init["root_token"]
            self.assertEqual(len(keys), 3)
            self.assertTrue(client.sys.is_initialized())
            self.assertTrue(client.sys.is_sealed())
            r = self.cli("operator", "unseal", keys[2])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("Unseal Progress 1/2", r.stdout)
            client.sys.submit_unseal_keys(keys[:1])
            self.assertFalse(client.sys.is_sealed())
            st = self.cli("status")
            self.assertEqual(st.returncode, 0, st.stdout)
            self.assertIn("Sealed          false", st.stdout)
            # Seal needs the root token.
            self.assertEqual(self.cli("operator", "seal").returncode, 2)
            r = self.cli("operator", "seal", token=root)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(client.sys.is_sealed())
            health = urllib.request.Request(f"{self.addr}/v1/sys/health")
            with self.assertRaises(urllib.error.HTTPError) as ctx:
                urllib.request.urlopen(health)
            self.assertEqual(ctx.exception.code, 503)
            # Unseal from stdin, twice.
            for k in keys[:2]:
                r = self.cli("operator", "unseal", "-", stdin=k + "\n")
                self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(client.sys.is_sealed())
        finally:
            self.assertEqual(s.stop(), 0)
        # Neither the root token nor an unseal key is in the files or the log.
        blobs = b""
        for path in glob.glob(os.path.join(self.dir, "data", "*")):
            with open(path, "rb") as f:
                blobs += f.read()
        for value in [root] + keys:
            self.assertNotIn(value.encode(), blobs)
            self.assertNotIn(value, s.stderr())

    def test_key_file_auto_unseal_and_sigkill_during_writes(self):
        s = self.start()
        try:
            r = self.cli("operator", "init", "-key-shares", "3", "-key-threshold", "2", "-key-file", self.keyfile)
            self.assertEqual(r.returncode, 0, r.stderr)
            root = [l for l in r.stdout.splitlines() if l.startswith("Initial Root Token:")][0].split(": ")[1]
        finally:
            s.stop()
        self.assertEqual(os.stat(self.keyfile).st_mode & 0o777, 0o600)

        # A key file others can read is refused with a message saying so.
        os.chmod(self.keyfile, 0o644)
        r = subprocess.run([BIN, "server", "-config", self.config(unseal_key_file=self.keyfile)],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("is readable by group or others (mode 0644): run chmod 600 on it", r.stderr)
        os.chmod(self.keyfile, 0o600)

        s = self.start(unseal_key_file=self.keyfile)
        acked = [0]
        stop = threading.Event()

        def rotate():
            while not stop.is_set():
                req = urllib.request.Request(f"{self.addr}/v1/sys/rotate", method="PUT",
                                             headers={"X-Vault-Token": root})
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        if resp.status == 204:
                            acked[0] += 1
                except Exception:
                    return  # the server was killed

        threads = [threading.Thread(target=rotate) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        self.assertGreater(acked[0], 5)

        s = self.start(unseal_key_file=self.keyfile)
        try:
            client = hvac.Client(url=self.addr, token=root)
            self.assertFalse(client.sys.is_sealed())
            term = client.read("sys/key-status")["data"]["term"]
            # Every acknowledged rotation is there (term 1 + one per rotation).
            self.assertGreaterEqual(term, 1 + acked[0])
        finally:
            self.assertEqual(s.stop(), 0)

    def test_corrupt_storage_file_is_a_clear_start_up_error(self):
        os.makedirs(os.path.join(self.dir, "data"))
        with open(os.path.join(self.dir, "data", "credbroker.db"), "wb") as f:
            f.write(b"this is not a database" * 500)
        os.chmod(os.path.join(self.dir, "data", "credbroker.db"), 0o600)  # (a readable file is refused before)
        r = subprocess.run([BIN, "server", "-config", self.config()], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("file is not a database", r.stderr)
        self.assertIn("credbroker.db", r.stderr)


if __name__ == "__main__":
    unittest.main()
