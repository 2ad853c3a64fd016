"""packaging/credbroker.service is a unit systemd accepts (systemd-analyze verify, with ExecStart
pointed at the built binary) and says what docs/operations.md promises: SIGHUP on reload, SIGTERM to
stop, no restart on a configuration error (exit 2), a private state directory.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import re
import subprocess
import tempfile
import unittest

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "packaging", "credbroker.service")
BIN = os.environ.get("CREDBROKER_BIN", "")


class SystemdUnit(unittest.TestCase):
    def test_systemd_accepts_the_unit(self):
        self.assertTrue(BIN, "CREDBROKER_BIN is not set")
        text = open(UNIT).read()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "credbroker.service")
            with open(path, "w") as f:
                f.write(text.replace("/usr/local/bin/credbroker", BIN))
            r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("credbroker.service", r.stderr)  # no warning about our unit

    def test_the_unit_says_what_operations_md_promises(self):
        keys = dict(re.findall(r"^(\w+)=(.*)$", open(UNIT).read(), re.M))
        self.assertEqual(keys["ExecReload"], "/bin/kill -HUP $MAINPID")
        self.assertEqual(keys["KillSignal"], "SIGTERM")
        self.assertEqual(keys["RestartPreventExitStatus"], "2")
        self.assertEqual(keys["StateDirectoryMode"], "0700")
        self.assertEqual(keys["UMask"], "0077")
        # The command line it runs is one the binary takes.
        self.assertEqual(keys["ExecStart"].split()[1:3], ["server", "-config"])
        r = subprocess.run([BIN, "server", "-help"], capture_output=True, text=True, timeout=30)
        self.assertIn("-config FILE", r.stdout)


if __name__ == "__main__":
    unittest.main()
