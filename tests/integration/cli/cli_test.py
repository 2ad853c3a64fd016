"""The credbroker client commands (cli/) as a DBA or a script runs them: against `server -dev`
started here, with the real PostgreSQL and Redis of scripts/test-servers.sh. Every command group,
its output formats, -field, the token helper (~/.vault-token under a private HOME), and the error
paths: exit 2 with the server's error on stderr, exit 1 for local errors, and no secret printed
where it must not be. The exact request shape of a few commands (audit enable's body among them) is
checked against a small recording HTTP server.

Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import http.server
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import psycopg2
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import BIN, free_port, pg_connect, redis_admin, shared_pg, shared_redis, wait_for  # noqa: E402

ROOT = "cli-test-root-" + secrets.token_hex(8)
OUTPUTS = []  # every stdout and stderr the CLI printed, for the leak check
SERVER_LOGS = []  # the dev servers' output
ISSUED = []  # passwords the broker issued


def start_dev_server():
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([BIN, "server", "-dev", "-dev-listen-address", f"127.0.0.1:{port}",
                             "-dev-root-token-id", ROOT], stdout=log, stderr=log)
    addr = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"dev server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(addr + "/v1/sys/health", timeout=0.5):
                return True
        except OSError:
            return False
    wait_for(up, 20, "the dev server")
    return proc, addr, log


class CliCase(unittest.TestCase):
    """A dev server for the class, a private HOME per test, and cli() to run a command."""

    @classmethod
    def setUpClass(cls):
        if not BIN:
            raise AssertionError("CREDBROKER_BIN is not set")
        cls.proc, cls.addr, cls.log = start_dev_server()
        cls.pg = shared_pg()
        cls.redis = shared_redis()

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        cls.proc.wait(timeout=30)
        cls.log.seek(0)
        SERVER_LOGS.append(cls.log.read())
        cls.log.close()

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="credbroker-cli-home-")
        self.addCleanup(shutil.rmtree, self.home, True)

    def cli(self, *args, token=ROOT, stdin=None, addr=None, env=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "CREDBROKER_TOKEN", "CREDBROKER_ADDR"))}
        e.update(HOME=self.home, VAULT_ADDR=addr or self.addr)
        if token:
            e["VAULT_TOKEN"] = token
        e.update(env or {})
        r = subprocess.run([BIN, *args], capture_output=True, text=True, input=stdin, env=e, timeout=60)
        OUTPUTS.append(r.stdout + r.stderr)
        return r

    def ok(self, *args, **kw):
        r = self.cli(*args, **kw)
        self.assertEqual(r.returncode, 0, f"{args}: {r.stderr}")
        return r.stdout

    def remote_error(self, *args, text, **kw):
        r = self.cli(*args, **kw)
        self.assertEqual(r.returncode, 2, f"{args}: {r.stdout} {r.stderr}")
        self.assertIn(text, r.stderr)
        return r

    def local_error(self, *args, text, **kw):
        r = self.cli(*args, **kw)
        self.assertEqual(r.returncode, 1, f"{args}: {r.stdout} {r.stderr}")
        self.assertIn(text, r.stderr)
        return r

    def file(self, name, text, mode=0o600):
        path = os.path.join(self.home, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def mount_database(self, mount):
        self.ok("secrets", "enable", f"-path={mount}", "database")
        pw = self.file("pg-password", self.pg["password"])
        url = f"postgresql://{{{{username}}}}:{{{{password}}}}@{self.pg['host']}:{self.pg['port']}/{self.pg['dbname']}"
        self.ok("write", f"{mount}/config/pg", "plugin_name=postgresql-database-plugin", f"connection_url={url}",
                f"username={self.pg['user']}", f"password=@{pw}", "allowed_roles=*")


class HelpAndCompletion(CliCase):
    def test_help_lists_every_command_and_each_command_has_help(self):
        out = self.ok("-help", token=None)
        for name in ("read", "write", "list", "delete", "login", "lease", "token", "policy", "secrets", "auth",
                     "audit", "status", "operator", "completion"):
            self.assertIn(f"\n  {name} ", out)
        commands = ["read", "write", "list", "delete", "login", "status", "completion"] + \
            [f"lease {s}" for s in ("renew", "revoke", "lookup")] + \
            [f"token {s}" for s in ("create", "lookup", "renew", "revoke", "capabilities")] + \
            [f"policy {s}" for s in ("write", "read", "list", "delete")] + \
            [f"secrets {s}" for s in ("enable", "list", "tune", "disable")] + \
            [f"auth {s}" for s in ("enable", "list", "tune", "disable")] + \
            [f"audit {s}" for s in ("enable", "list", "disable")] + \
            [f"operator {s}" for s in ("init", "unseal", "seal", "generate-root", "rekey")]
        for c in commands:
            for h in ("-h", "-help"):
                with self.subTest(command=c, flag=h):
                    r = self.cli(*c.split(), h, token=None)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn(f"Usage: credbroker {c}", r.stdout)
        r = self.cli("lease", token=None)
        self.assertEqual(r.returncode, 1)
        self.assertIn("renew", r.stderr)
        self.assertIn("Subcommands:", self.ok("token", "-h", token=None))

    def test_bash_completion_completes_commands_subcommands_and_flags(self):
        script = self.ok("completion", "bash", token=None)

        def complete(*words):
            prog = (f"source /dev/stdin; COMP_WORDS=(credbroker {' '.join(words)}); "
                    f"COMP_CWORD={len(words)}; _credbroker; echo \"${{COMPREPLY[*]}}\"")
            return subprocess.run(["bash", "-c", prog], input=script, capture_output=True, text=True,
                                  timeout=30).stdout.split()
        self.assertEqual(complete("lease", "re"), ["renew", "revoke"])
        self.assertIn("secrets", complete("se"))
        self.assertIn("-increment=", complete("lease", "renew", "-"))
        self.assertEqual(complete("read", "-format=y"), ["yaml"])
        self.local_error("completion", "zsh", text="credbroker completes bash", token=None)


class DatabaseEngine(CliCase):
    def test_postgres_connection_role_creds_login_renew_revoke(self):
        self.mount_database("database")
        sql = self.file("create.sql", "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                                      "VALID UNTIL '{{expiration}}';")
        self.ok("write", "database/roles/app", "db_name=pg", f"creation_statements=@{sql}", "default_ttl=1h",
                "max_ttl=2h")
        self.assertEqual(self.ok("list", "database/roles").split(), ["Keys", "----", "app"])
        role = json.loads(self.ok("read", "-format=json", "database/roles/app"))
        self.assertEqual(role["data"]["default_ttl"], 3600)
        self.assertRegex(self.ok("read", "database/roles/app"), r"\ndefault_ttl\s+1h\n")
        # The connection's password is not shown back.
        self.assertNotIn(self.pg["password"], self.ok("read", "-format=json", "database/config/pg"))

        creds = json.loads(self.ok("read", "-format=json", "database/creds/app"))
        user, password, lease = creds["data"]["username"], creds["data"]["password"], creds["lease_id"]
        ISSUED.append(password)
        self.assertEqual(creds["lease_duration"], 3600)
        with pg_connect(self.pg, user=user, password=password) as c, c.cursor() as cur:
            cur.execute("SELECT current_user")
            self.assertEqual(cur.fetchone()[0], user)

        # -field prints the bare value (no newline when piped), table and YAML the whole secret.
        pw2 = self.ok("read", "-field=password", "database/creds/app")
        self.assertNotIn("\n", pw2)
        table = self.ok("read", "database/creds/app")
        self.assertRegex(table, r"lease_id\s+database/creds/app/\w+")
        self.assertRegex(table, r"lease_duration\s+1h\n")
        doc = yaml.safe_load(self.ok("read", "-format=yaml", "database/creds/app"))
        self.assertEqual(doc["lease_duration"], 3600)
        self.assertTrue(doc["data"]["username"].startswith("v-"))
        with pg_connect(self.pg, user=doc["data"]["username"], password=doc["data"]["password"]):
            pass

        looked = json.loads(self.ok("lease", "lookup", "-format=json", lease))
        self.assertEqual(looked["data"]["id"], lease)
        renewed = json.loads(self.ok("lease", "renew", "-increment=30m", "-format=json", lease))
        self.assertEqual(renewed["lease_id"], lease)
        self.assertEqual(renewed["lease_duration"], 1800)
        self.assertIn("Success! Revoked lease: " + lease, self.ok("lease", "revoke", "-sync", lease))
        with self.assertRaises(psycopg2.OperationalError):
            pg_connect(self.pg, user=user, password=password)
        self.remote_error("lease", "lookup", lease, text="error looking up lease id " + lease)

        keys = self.ok("list", "sys/leases/lookup/database/creds/app").split()[2:]
        self.assertEqual(len(keys), 3)
        self.assertIn("queued", self.ok("lease", "revoke", "-prefix", "database/creds/app"))
        wait_for(lambda: self.cli("list", "sys/leases/lookup/database/creds/app").returncode == 2, 30,
                 "every lease of the role revoked")
        self.local_error("lease", "revoke", "-force", "database/creds/app", text="requires also specifying -prefix")
        self.local_error("lease", "renew", text="Missing ID!")
        self.ok("delete", "database/roles/app")
        self.remote_error("read", "database/roles/app", text="No value found at database/roles/app")

    def test_static_role_read_and_rotate(self):
        self.mount_database("static")
        user = "cli_static_" + secrets.token_hex(4)
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute(f'CREATE ROLE "{user}" LOGIN PASSWORD %s', (secrets.token_urlsafe(16),))
        self.addCleanup(self.drop_role, user)
        self.ok("write", "static/static-roles/billing", "db_name=pg", f"username={user}", "rotation_period=1h")
        first = self.ok("read", "-field=password", "static/static-creds/billing")
        ISSUED.append(first)
        with pg_connect(self.pg, user=user, password=first):
            pass
        self.assertIn("rotation_period", self.ok("read", "static/static-creds/billing"))
        self.assertIn("Success! Data written to: static/rotate-role/billing",
                      self.ok("write", "-f", "static/rotate-role/billing"))
        second = self.ok("read", "-field=password", "static/static-creds/billing")
        self.assertNotEqual(first, second)
        with pg_connect(self.pg, user=user, password=second):
            pass
        with self.assertRaises(psycopg2.OperationalError):
            pg_connect(self.pg, user=user, password=first)
        self.ok("delete", "static/static-roles/billing")

    def drop_role(self, user):
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute(f'DROP ROLE IF EXISTS "{user}"')

    def test_redis_role_creds_log_in(self):
        self.ok("secrets", "enable", "-path=cache", "database")
        r = self.redis
        self.ok("write", "cache/config/redis", "plugin_name=redis-database-plugin", f"host={r['host']}",
                f"port={r['port']}", f"username={r['user']}", "password=-", "allowed_roles=app",
                stdin=r["password"])
        self.ok("write", "cache/roles/app", "db_name=redis", 'creation_statements=["~cli:*", "+@all"]',
                "default_ttl=10m")
        creds = json.loads(self.ok("read", "-format=json", "cache/creds/app"))
        import redis as redis_py
        conn = redis_py.Redis(host=r["host"], port=r["port"], username=creds["data"]["username"],
                              password=creds["data"]["password"], socket_timeout=5)
        self.assertTrue(conn.set("cli:x", "1"))
        self.ok("lease", "revoke", "-sync", creds["lease_id"])
        self.assertNotIn(creds["data"]["username"], redis_admin(r).acl_users())

    def test_secrets_enable_list_tune_disable(self):
        self.ok("secrets", "enable", "-path=team-a/db", "-description=team A", "-max-lease-ttl=24h", "database")
        table = self.ok("secrets", "list")
        self.assertRegex(table, r"Path\s+Type\s+Accessor\s+Description\n----\s+----\s+--------\s+-----------\n")
        self.assertRegex(table, r"team-a/db/\s+database\s+database_\w+\s+team A")
        self.assertIn("system", self.ok("secrets", "list", "-detailed"))
        mounts = json.loads(self.ok("secrets", "list", "-format=json"))
        self.assertEqual(mounts["team-a/db/"]["config"]["max_lease_ttl"], 86400)
        self.assertIn("Success! Tuned the secrets engine at: team-a/db/",
                      self.ok("secrets", "tune", "-default-lease-ttl=1h", "-max-lease-ttl=2h", "team-a/db"))
        tune = json.loads(self.ok("read", "-format=json", "sys/mounts/team-a/db/tune"))
        self.assertEqual((tune["data"]["default_lease_ttl"], tune["data"]["max_lease_ttl"]), (3600, 7200))
        self.remote_error("secrets", "tune", "-default-lease-ttl=3h", "team-a/db",
                          text="backend max lease TTL of 7200 would be less than backend default lease TTL of 10800")
        self.remote_error("secrets", "enable", "kv", text="Error enabling: Error making API request.")
        self.remote_error("secrets", "enable", "-path=team-a/db", "database", text="path is already in use")
        self.local_error("secrets", "tune", "-max-lease-ttl=forever", "team-a/db", text="invalid value \"forever\"")
        self.assertIn("Success! Disabled the secrets engine (if it existed) at: team-a/db/",
                      self.ok("secrets", "disable", "team-a/db/"))
        self.assertNotIn("team-a/db/", self.ok("secrets", "list"))


class AuthTokensPolicies(CliCase):
    POLICY = 'path "database/creds/app" {\n  capabilities = ["read"]\n}\n'

    def test_policy_write_read_list_delete(self):
        self.assertIn("Success! Uploaded policy: dba", self.ok("policy", "write", "DBA", "-", stdin=self.POLICY))
        self.assertEqual(self.ok("policy", "read", "dba"), self.POLICY)
        self.assertEqual(json.loads(self.ok("policy", "read", "-format=json", "dba")), {"policy": self.POLICY})
        self.assertIn("dba", self.ok("policy", "list").split())
        self.assertIn("dba", json.loads(self.ok("policy", "list", "-format=json")))
        self.local_error("policy", "write", "x", os.path.join(self.home, "missing.hcl"), text="Error opening policy file")
        self.remote_error("policy", "write", "bad", "-", stdin="path {", text="Error uploading policy:")
        self.assertIn("Success! Deleted policy: dba", self.ok("policy", "delete", "dba"))
        self.remote_error("policy", "read", "dba", text="No policy named: dba")

    def test_approle_login_saves_the_token_unechoed_and_token_lookup_uses_it(self):
        self.ok("policy", "write", "dba", self.file("dba.hcl", self.POLICY))
        self.assertIn("Success! Enabled approle auth method at: approle/", self.ok("auth", "enable", "approle"))
        self.assertRegex(self.ok("auth", "list"), r"approle/\s+approle\s+\S+")
        self.ok("write", "auth/approle/role/ci", "token_policies=dba", "token_ttl=1h")
        role_id = self.ok("read", "-field=role_id", "auth/approle/role/ci/role-id")
        secret_id = self.ok("write", "-f", "-field=secret_id", "auth/approle/role/ci/secret-id")
        sid_file = self.file("secret-id", secret_id)

        r = self.cli("login", "-method=approle", f"role_id={role_id}", f"secret_id=@{sid_file}", token=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        token_file = os.path.join(self.home, ".vault-token")
        self.assertEqual(stat.S_IMODE(os.stat(token_file).st_mode), 0o600)
        with open(token_file) as f:
            token = f.read()
        self.assertTrue(token)
        self.assertNotIn(token, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r'token_policies\s+\[("default" "dba"|"dba" "default")\]')
        r = self.cli("login", "-format=json", "-method=approle", f"role_id={role_id}", f"secret_id={secret_id}",
                     token=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("client_token", r.stdout)
        with open(token_file) as f:
            token = f.read()
        self.assertNotIn(token, r.stdout + r.stderr)

        # Later commands without VAULT_TOKEN use the saved token.
        lookup = json.loads(self.ok("token", "lookup", "-format=json", token=None))
        self.assertEqual(sorted(lookup["data"]["policies"]), ["dba", "default"])
        self.assertEqual(self.ok("token", "capabilities", "database/creds/app", token=None).strip(), "read")
        self.assertEqual(self.ok("token", "capabilities", "sys/mounts", token=None).strip(), "deny")
        self.remote_error("secrets", "list", token=None, text="permission denied")

        # -token-only prints the token and leaves the stored one alone; -no-store prints it in the table.
        printed = self.ok("login", "-token-only", "-method=approle", f"role_id={role_id}", f"secret_id={secret_id}",
                          token=None)
        self.assertTrue(printed.startswith("hvs.") or len(printed) > 20, printed)
        self.assertNotEqual(printed, token)
        with open(token_file) as f:
            self.assertEqual(f.read(), token)
        self.assertIn("dba", self.ok("token", "lookup", "-format=json", token=printed))
        self.remote_error("login", "-method=approle", f"role_id={role_id}", "secret_id=wrong", token=None,
                          text="Error authenticating:")
        self.local_error("login", "-method=ldap", "username=x", token=None, text="Unknown auth method: ldap")

        # A token login: from stdin, checked with lookup-self, stored.
        r = self.cli("login", "-", token=None, stdin=ROOT + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(ROOT, r.stdout + r.stderr)
        with open(token_file) as f:
            self.assertEqual(f.read(), ROOT)
        self.remote_error("login", "not-a-token", token=None, text="error looking up token")
        with open(token_file) as f:
            self.assertEqual(f.read(), ROOT)
        self.assertIn("Success! Disabled the auth method (if it existed) at: approle/", self.ok("auth", "disable", "approle"))

    def test_token_create_lookup_renew_revoke(self):
        self.ok("policy", "write", "dba", "-", stdin=self.POLICY)
        created = json.loads(self.ok("token", "create", "-policy=dba", "-ttl=1h", "-display-name=alice",
                                     "-metadata=team=dba", "-format=json"))
        token = created["auth"]["client_token"]
        self.assertEqual(sorted(created["auth"]["policies"]), ["dba", "default"])
        table = self.ok("token", "lookup", token)
        self.assertRegex(table, r"display_name\s+\S*alice")
        self.assertRegex(table, r"policies\s+\[dba default\]|policies\s+\[default dba\]")
        renewed = json.loads(self.ok("token", "renew", "-increment=30m", "-format=json", token))
        self.assertEqual(renewed["auth"]["lease_duration"], 1800)
        self.assertEqual(self.ok("token", "renew", "-field=token_renewable", token), "true")
        accessor = created["auth"]["accessor"]
        self.assertIn(accessor, self.ok("token", "lookup", "-accessor", accessor))
        self.assertIn("Success! Revoked token (if it existed)", self.ok("token", "revoke", token))
        self.remote_error("token", "lookup", token, text="Error looking up token:")
        other = self.ok("token", "create", "-field=token", "-policy=dba")
        self.ok("token", "revoke", "-self", token=other)
        self.remote_error("token", "lookup", token=other, text="permission denied")
        self.local_error("token", "revoke", "-self", "x", text="Tokens cannot be specified with -self")
        self.local_error("token", "revoke", text="Not enough arguments")
        self.local_error("token", "create", "-ttl=soon", text="invalid value \"soon\" for flag -ttl")
        self.local_error("token", "create", "extra", text="Too many arguments (expected 0, got 1)")

    def test_auth_tune_is_sent_where_the_vault_cli_sends_it(self):
        self.ok("auth", "enable", "-path=ci", "approle")
        self.assertIn("Success! Tuned the auth method at: ci/",
                      self.ok("auth", "tune", "-default-lease-ttl=1h", "ci"))
        tune = json.loads(self.ok("read", "-format=json", "sys/auth/ci/tune"))
        self.assertEqual(tune["data"]["default_lease_ttl"], 3600)
        self.remote_error("auth", "enable", "-path=ci", "approle", text="Error enabling approle auth:")
        self.ok("auth", "disable", "ci")


class ErrorPaths(CliCase):
    def test_local_and_remote_errors(self):
        self.local_error("read", "-bogus", "x", text="flag provided but not defined: -bogus")
        self.local_error("read", text="Not enough arguments (expected 1, got 0)")
        self.local_error("write", "sys/policies/acl/x", text="Must supply data or use -force")
        self.local_error("write", "sys/policies/acl/x", "policy=@/nonexistent/p.hcl", text="error reading file")
        self.local_error("write", "sys/policies/acl/x", "novalue", text="format must be key=value")
        self.local_error("read", "-format=xml", "auth/token/lookup-self", text="Invalid output format: xml")
        self.local_error("read", "-field=nope", "auth/token/lookup-self", text='Field "nope" not present in secret')
        self.local_error("list", "a", "b", text="Too many arguments (expected 1, got 2)")
        r = self.remote_error("read", "sys/policies/acl/missing", text="No value found at sys/policies/acl/missing")
        self.assertEqual(r.stdout, "")
        r = self.remote_error("read", "auth/token/lookup-self", token="bad-token", text="permission denied")
        self.assertIn("Code: 403. Errors:", r.stderr)
        self.assertIn(f"URL: GET {self.addr}/v1/auth/token/lookup-self", r.stderr)
        self.remote_error("list", "database/roles", text="No value found at database/roles")
        self.assertEqual(self.cli("list", "-format=json", "nothing/here").stdout.strip(), "{}")
        dead = f"http://127.0.0.1:{free_port()}"
        self.remote_error("read", "auth/token/lookup-self", addr=dead, text=f'Get "{dead}/v1/auth/token/lookup-self"')
        self.assertEqual(self.cli("status", addr=dead).returncode, 1)
        r = self.cli("read", "auth/token/lookup-self", "-format=json")
        self.assertEqual(r.returncode, 0)  # "-format=json" after the path is a K=V argument (a query
        self.assertIn("will not be parsed as flags: [-format=json]", r.stderr)  # parameter); the CLI says so
        self.assertTrue(r.stdout.startswith("Key "))
        self.assertIn("Success! Data written to: sys/policies/acl/x",
                      self.ok("write", "sys/policies/acl/x", "policy=-", stdin='path "a" { capabilities = ["read"] }'))
        self.assertEqual(self.ok("write", "-format=json", "sys/policies/acl/y", 'policy=path "a" { capabilities = ["read"] }'), "")

    def test_environment_addresses_and_formats(self):
        port = self.addr.rsplit(":", 1)[1]
        out = self.ok("read", "auth/token/lookup-self", addr="http://127.0.0.1:1",
                      env={"CREDBROKER_ADDR": self.addr, "VAULT_FORMAT": "json"})
        self.assertEqual(json.loads(out)["data"]["policies"], ["root"])
        out = self.ok("read", f"-address=http://127.0.0.1:{port}", "-format=yaml", "auth/token/lookup-self",
                      addr="http://127.0.0.1:1", token=None, env={"CREDBROKER_TOKEN": ROOT})
        self.assertIn("  policies:\n  - root\n", out)


class AuditCommands(CliCase):
    """audit enable|list|disable against the dev server: a file device records the CLI's own requests,
    hashed; the server's refusals come back as remote errors."""

    def test_enable_list_disable_a_file_device(self):
        log = os.path.join(self.home, "audit.log")
        self.assertEqual(self.ok("audit", "enable", "-description=cli log", "file", f"file_path={log}").strip(),
                         "Success! Enabled the file audit device at: file/")
        self.assertEqual(stat.S_IMODE(os.stat(log).st_mode), 0o600)
        self.assertRegex(self.ok("audit", "list"), r"file/\s+file\s+cli log")
        self.assertIn(f"file_path={log}", self.ok("audit", "list", "-detailed"))
        listed = json.loads(self.ok("audit", "list", "-format=json"))
        self.assertEqual((listed["file/"]["type"], listed["file/"]["options"]), ("file", {"file_path": log}))
        h = json.loads(self.ok("write", "-format=json", "sys/audit-hash/file", f"input={ROOT}"))["data"]["hash"]
        with open(log) as f:
            text = f.read()
        self.assertNotIn(ROOT, text)
        self.assertIn(f'"client_token":"{h}"', text)  # the CLI's own requests, with its token hashed
        self.remote_error("audit", "enable", "-path=file", "file", f"file_path={log}.2",
                          text="Error enabling audit device:")
        self.remote_error("audit", "enable", "syslog", text="not supported")
        self.assertIn("Success! Disabled audit device (if it was enabled) at: file/", self.ok("audit", "disable", "file"))
        r = self.remote_error("audit", "list", text="")
        self.assertIn("No audit devices are enabled.", r.stdout)
        self.remote_error("audit", "list", token="not-a-token", text="Error listing audits: Error making API request.")


class RequestShape(CliCase):
    """The exact requests of a few commands, against a recording HTTP server that answers as Vault
    would."""

    def setUp(self):
        super().setUp()
        self.requests = []
        recorded = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else None
                recorded.append((self.command, self.path, body, self.headers.get("X-Vault-Token")))
                reply, status = b"", 204
                if self.path == "/v1/sys/audit":
                    status = 200
                    reply = json.dumps({"data": {"file/": {"type": "file", "description": "", "path": "file/",
                                                           "options": {"file_path": "/var/log/a.log"},
                                                           "local": False}}}).encode()
                elif self.path.startswith("/v1/sys/audit/bad"):
                    status, reply = 400, b'{"errors":["unknown audit device type \\"bad\\""]}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_PUT = do_POST = do_DELETE = handle_one

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.fake = f"http://127.0.0.1:{self.server.server_address[1]}"

    def test_audit_commands_send_vaults_requests(self):
        out = self.ok("audit", "enable", "-description=main log", "file", "file_path=/var/log/a.log", "mode=0640",
                      addr=self.fake)
        self.assertEqual(out.strip(), "Success! Enabled the file audit device at: file/")
        method, path, body, token = self.requests[-1]
        self.assertEqual((method, path, token), ("PUT", "/v1/sys/audit/file", ROOT))
        self.assertEqual(json.loads(body), {"type": "file", "description": "main log", "local": False,
                                            "options": {"file_path": "/var/log/a.log", "mode": "0640"}})
        self.ok("audit", "enable", "-path=stdout", "file", "file_path=stdout", addr=self.fake)
        self.assertEqual(self.requests[-1][1], "/v1/sys/audit/stdout")
        table = self.ok("audit", "list", addr=self.fake)
        self.assertRegex(table, r"Path\s+Type\s+Description\n----\s+----\s+-----------\nfile/\s+file\s+n/a")
        self.assertIn("file_path=/var/log/a.log", self.ok("audit", "list", "-detailed", addr=self.fake))
        self.assertEqual(json.loads(self.ok("audit", "list", "-format=json", addr=self.fake))["file/"]["type"], "file")
        self.assertIn("Success! Disabled audit device (if it was enabled) at: file/",
                      self.ok("audit", "disable", "file", addr=self.fake))
        self.assertEqual(self.requests[-1][:2], ("DELETE", "/v1/sys/audit/file"))
        self.remote_error("audit", "enable", "bad", addr=self.fake, text='unknown audit device type "bad"')
        self.local_error("audit", "enable", addr=self.fake, text="audit type missing")
        self.local_error("audit", "disable", addr=self.fake, text="Not enough arguments")

    def test_write_force_list_and_revoke_requests(self):
        self.ok("write", "-f", "database/rotate-root/pg", addr=self.fake)
        self.assertEqual(self.requests[-1][:3], ("PUT", "/v1/database/rotate-root/pg", "null"))
        self.cli("list", "database/roles/", addr=self.fake)
        self.assertEqual(self.requests[-1][:2], ("GET", "/v1/database/roles?list=true"))
        self.ok("lease", "revoke", "-force", "-prefix", "database/creds/app", addr=self.fake)
        self.assertEqual(self.requests[-1][:3], ("PUT", "/v1/sys/leases/revoke-force/database/creds/app", None))
        self.ok("lease", "revoke", "database/creds/app/x", addr=self.fake)
        self.assertEqual(self.requests[-1][:3], ("PUT", "/v1/sys/leases/revoke/database/creds/app/x", '{"sync":false}'))
        self.cli("read", "sys/thing", "ttl=1h", "x=a b", addr=self.fake)
        self.assertEqual(self.requests[-1][:2], ("GET", "/v1/sys/thing?ttl=1h&x=a%20b"))
        self.ok("auth", "tune", "-default-lease-ttl=1h", "approle", addr=self.fake)
        self.assertEqual(self.requests[-1][:3], ("POST", "/v1/sys/mounts/auth/approle/tune", '{"default_lease_ttl":"1h0m0s"}'))


def tearDownModule():
    """No root password of the databases in anything the CLI printed; no issued password in the
    servers' output."""
    text = "".join(OUTPUTS)
    for pw in (shared_pg()["password"], shared_redis()["password"]):
        assert pw not in text, "a database root password was printed by the CLI"
    logs = "".join(SERVER_LOGS)
    for pw in ISSUED + [shared_pg()["password"], shared_redis()["password"]]:
        assert pw not in logs, "a password is in the server's log"


if __name__ == "__main__":
    unittest.main()
