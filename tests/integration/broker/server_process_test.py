"""The credbroker binary as a user runs it: flags, config errors, dev mode, Vault clients, logs,
graceful shutdown. Run with Debian's /usr/bin/python3 (it sees python3-hvac); CREDBROKER_BIN names
the binary."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import hvac
import hvac.exceptions

BIN = os.environ.get("CREDBROKER_BIN", "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, timeout=30):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


class Server:
    """A credbroker server subprocess on a free loopback port."""

    def __init__(self, *args, wait_health=True):
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.args = list(args)
        self.errfile = tempfile.TemporaryFile(mode="w+")
        self.outfile = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([BIN, "server", *self.args], stdout=self.outfile, stderr=self.errfile)
        if wait_health:
            self.wait_until_up()

    def wait_until_up(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.stderr()}")
            # Up means answering HTTP, not just a bound socket (the kernel accepts connections from
            # listen() on, before the server runs and before the dev banner is printed).
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/sys/health", timeout=0.5):
                    return
            except urllib.error.HTTPError:
                return  # sealed or standby: an answer all the same
            except OSError:
                time.sleep(0.05)
        raise AssertionError("server did not start answering")

    def stdout(self):
        self.outfile.seek(0)
        return self.outfile.read()

    def stderr(self):
        self.errfile.seek(0)
        return self.errfile.read()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def __del__(self):
        for f in (getattr(self, "errfile", None), getattr(self, "outfile", None)):
            if f is not None:
                f.close()


def dev_server(*extra):
    port = free_port()
    s = Server.__new__(Server)
    s.port = port
    s.addr = f"http://127.0.0.1:{port}"
    s.errfile = tempfile.TemporaryFile(mode="w+")
    s.outfile = tempfile.TemporaryFile(mode="w+")
    s.proc = subprocess.Popen([BIN, "server", "-dev", "-dev-listen-address", f"127.0.0.1:{port}", *extra],
                              stdout=s.outfile, stderr=s.errfile)
    s.wait_until_up()
    return s


class HelpAndUsage(unittest.TestCase):
    def test_main_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("server", r.stdout)
        self.assertIn("Usage: credbroker", r.stdout)

    def test_server_help_lists_every_flag(self):
        r = run("server", "--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("-config FILE", "-dev ", "-dev-root-token-id TOKEN", "-dev-listen-address ADDR",
                     "-log-level LEVEL", "-log-format FORMAT"):
            self.assertIn(flag, r.stdout)

    def test_usage_errors_exit_2(self):
        cases = [
            (["server"], "exactly one of -config FILE or -dev is required"),
            (["server", "-dev", "-config", "x.json"], "exactly one of -config FILE or -dev is required"),
            (["server", "-bogus"], "flag provided but not defined: -bogus"),
            (["server", "-dev", "-dev-listen-address", "nope"], "-dev-listen-address: expected host:port"),
            (["server", "-dev", "-log-level", "loud"], "log_level: expected one of"),
            (["frobnicate"], "unknown command"),
        ]
        for args, text in cases:
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(text, r.stderr)


class ConfigFile(unittest.TestCase):
    def write_config(self, doc):
        f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(doc, f) if not isinstance(doc, str) else f.write(doc)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def base(self, port=8200):
        return {"listener": {"tcp": {"address": f"127.0.0.1:{port}", "tls_disable": True}},
                "storage": {"inmem": {}}, "log_level": "info"}

    def test_bad_configs_exit_2_naming_the_key(self):
        cases = [
            (lambda c: c["listener"]["tcp"].update(adress="x"), 'unknown key "listener.tcp.adress"'),
            (lambda c: c.update(default_lease_ttl="soon"), "default_lease_ttl: expected a duration"),
            (lambda c: c["listener"]["tcp"].update(address="8200"), 'listener.tcp.address: expected "host:port"'),
            (lambda c: c.update(log_format="xml"), 'log_format: expected "standard" or "json"'),
            (lambda c: c.update(storage={"s3": {}}), 'unknown key "storage.s3"'),
        ]
        for edit, text in cases:
            with self.subTest(text=text):
                cfg = self.base()
                edit(cfg)
                r = run("server", "-config", self.write_config(cfg))
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(text, r.stderr)
        r = run("server", "-config", self.write_config("{ not json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("not valid JSON", r.stderr)
        r = run("server", "-config", "/nonexistent/credbroker.json")
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot open the config file", r.stderr)

    def test_config_server_starts_and_logs_json(self):
        port = free_port()
        cfg = self.base(port)
        cfg["log_format"] = "json"
        path = self.write_config(cfg)
        s = Server.__new__(Server)
        s.port = port
        s.errfile = tempfile.TemporaryFile(mode="w+")
        s.outfile = tempfile.TemporaryFile(mode="w+")
        s.proc = subprocess.Popen([BIN, "server", "-config", path], stdout=s.outfile, stderr=s.errfile)
        s.wait_until_up()
        try:
            client = hvac.Client(url=f"http://127.0.0.1:{port}")
            # Not initialised yet: health answers 501, seal-status says so.
            resp = client.sys.read_health_status(method="GET")
            self.assertEqual(resp.status_code, 501)
            self.assertFalse(client.sys.is_initialized())
        finally:
            self.assertEqual(s.stop(), 0)
        lines = [l for l in s.stderr().splitlines() if l.strip()]
        self.assertTrue(lines)
        for line in lines:
            entry = json.loads(line)
            self.assertIn("@timestamp", entry)
            self.assertIn("@level", entry)
            self.assertIn("@message", entry)
        self.assertTrue(any("path=/v1/sys/health status=501" in json.loads(l)["@message"] for l in lines))


class DevMode(unittest.TestCase):
    def test_generated_root_token_is_printed_once_and_never_logged(self):
        s = dev_server()
        try:
            out = s.stdout()
            token_lines = [l for l in out.splitlines() if "Root Token:" in l]
            self.assertEqual(len(token_lines), 1, out)
            token = token_lines[0].split("Root Token:")[1].strip()
            self.assertTrue(token.startswith("hvs."), token)
            client = hvac.Client(url=s.addr, token=token)
            # A list of a path no mount serves: Vault's 404 (hvac's list() returns None on 404).
            self.assertIsNone(client.list("nothing/here"))
            r = urllib.request.Request(f"{s.addr}/v1/nothing/here", method="LIST", headers={"X-Vault-Token": token})
            with self.assertRaises(urllib.error.HTTPError) as ctx:
                urllib.request.urlopen(r)
            self.assertEqual(ctx.exception.code, 404)
            self.assertEqual(ctx.exception.headers["Content-Type"], "application/json")
            self.assertEqual(json.loads(ctx.exception.read()),
                             {"errors": ['no handler for route "nothing/here/". route entry not found.']})
        finally:
            self.assertEqual(s.stop(), 0)
        self.assertNotIn(token, s.stderr())
        # A path no mount serves could be a pasted credential: the log holds its HMAC only.
        self.assertRegex(s.stderr(), r"method=LIST path=/v1/hmac-sha256:[0-9a-f]{64} status=404")
        self.assertNotIn("nothing/here", s.stderr())

    def test_hvac_health_seal_and_auth(self):
        s = dev_server("-dev-root-token-id", "fixed-root")
        try:
            self.assertIn("Root Token: (the value given with -dev-root-token-id)", s.stdout())
            client = hvac.Client(url=s.addr, token="fixed-root")
            self.assertTrue(client.sys.is_initialized())
            self.assertFalse(client.sys.is_sealed())
            status = client.sys.read_seal_status()
            for key in ("type", "initialized", "sealed", "t", "n", "progress", "nonce", "version"):
                self.assertIn(key, status)
            health = client.sys.read_health_status(method="GET")
            for key in ("initialized", "sealed", "standby", "performance_standby", "replication_performance_mode",
                        "replication_dr_mode", "server_time_utc", "version", "cluster_name", "cluster_id"):
                self.assertIn(key, health)
            head = client.sys.read_health_status(method="HEAD")
            self.assertEqual(head.status_code, 200)
            # Without a token: 403, which hvac raises as Forbidden.
            anonymous = hvac.Client(url=s.addr, token="wrong-token")
            with self.assertRaises(hvac.exceptions.Forbidden):
                anonymous.list("nothing/here")
            # The root token with Authorization: Bearer.
            r = urllib.request.Request(f"{s.addr}/v1/nothing/here?list=true",
                                       headers={"Authorization": "Bearer fixed-root"})
            with self.assertRaises(urllib.error.HTTPError) as ctx:
                urllib.request.urlopen(r)
            self.assertEqual(ctx.exception.code, 404)
        finally:
            self.assertEqual(s.stop(), 0)
        self.assertNotIn("fixed-root", s.stderr())

    def test_sigterm_lets_the_request_in_flight_finish(self):
        s = dev_server("-dev-root-token-id", "root-x")
        conn = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        body = b'{"a":"12345678"}'
        conn.sendall(b"POST /v1/nothing/here HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root-x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                     b"\r\n\r\n" + body[:5])
        time.sleep(0.3)
        idle = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        time.sleep(0.1)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(s.proc.poll(), "exited with a request in flight")
        self.assertEqual(idle.recv(1), b"", "an idle connection should be closed at shutdown")
        conn.sendall(body[5:])
        response = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            response += chunk
        self.assertTrue(response.startswith(b"HTTP/1.1 404"), response)
        self.assertIn(b"Connection: close", response)
        conn.close()
        idle.close()
        self.assertEqual(s.proc.wait(timeout=10), 0)
        self.assertIn("all connections closed: exiting", s.stderr())

    def test_sigint_exits_0(self):
        s = dev_server()
        self.assertEqual(s.stop(signal.SIGINT), 0)

    def test_port_in_use_is_a_clear_error(self):
        s = dev_server()
        try:
            r = run("server", "-dev", "-dev-listen-address", f"127.0.0.1:{s.port}")
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"cannot listen on 127.0.0.1:{s.port}", r.stderr)
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
