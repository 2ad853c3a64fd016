"""The database secrets engine with the PostgreSQL plugin, through the real server (SQLite storage) on
the real PostgreSQL 15 of scripts/test-servers.sh, driven by python3-hvac 0.11.2 and raw HTTP;
issued logins are checked with psycopg2. Tests that stop their database get a private cluster.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import secrets
import sys
import threading
import time
import unittest

import hvac.exceptions
import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import (Broker, PgCluster, configure_postgres, pg_connect, pg_url, roles_with_prefix, shared_pg,  # noqa: E402
                    wait_for)


def creation(schema, *grants):
    return ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
            f'GRANT USAGE ON SCHEMA "{schema}" TO "{{{{name}}}}";', *grants]


def alive(conn):
    """Whether a session still answers (a terminated backend raises)."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        return True
    except psycopg2.Error:
        return False


class PostgresEngine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = shared_pg()
        cls.schema = "it_" + secrets.token_hex(4)
        with pg_connect(cls.pg) as c, c.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{cls.schema}"')
            cur.execute(f'CREATE TABLE "{cls.schema}".app_data (x int)')
            cur.execute(f'INSERT INTO "{cls.schema}".app_data VALUES (42)')
            cur.execute(f'CREATE TABLE "{cls.schema}".secret_data (x int)')
        cls.broker = Broker().start()
        cls.client = cls.broker.client()
        cls.client.sys.enable_secrets_engine("database")
        configure_postgres(cls.client, "pg", cls.pg)
        cls.passwords = []

    @classmethod
    def tearDownClass(cls):
        cls.broker.destroy()
        with pg_connect(cls.pg) as c, c.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{cls.schema}" CASCADE')

    def role(self, name, statements=None, **kw):
        self.client.secrets.database.create_role(
            name=name, db_name="pg",
            creation_statements=statements or creation(self.schema, f'GRANT SELECT ON "{self.schema}".app_data TO "{{{{name}}}}";'),
            **kw)

    def creds(self, role, token=None):
        status, body = self.broker.call("GET", f"database/creds/{role}", token=token)
        self.assertEqual(status, 200, body)
        self.passwords.append(body["data"]["password"])
        return body

    def login(self, body):
        return pg_connect(self.pg, user=body["data"]["username"], password=body["data"]["password"])

    def table_exists(self, name):
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", (f'"{self.schema}".{name}',))
            return cur.fetchone()[0] is not None

    def test_credentials_can_do_exactly_what_the_template_grants(self):
        self.role("reader", default_ttl="1h", max_ttl="2h")
        body = self.creds("reader")
        self.assertEqual(body["lease_duration"], 3600)
        self.assertTrue(body["renewable"])
        user = body["data"]["username"]
        self.assertTrue(user.startswith("v-root-reader-"), user)
        self.assertLessEqual(len(user.encode()), 63)
        with self.login(body) as conn, conn.cursor() as cur:
            cur.execute(f'SELECT x FROM "{self.schema}".app_data')
            self.assertEqual(cur.fetchall(), [(42,)])
            cur.execute("SELECT rolvaliduntil FROM pg_roles WHERE rolname = current_user")
            valid_until = cur.fetchone()[0].timestamp()
            self.assertAlmostEqual(valid_until, time.time() + 3600 + 5, delta=15)
            for forbidden in (f'INSERT INTO "{self.schema}".app_data VALUES (1)',
                              f'SELECT * FROM "{self.schema}".secret_data',
                              f'CREATE TABLE "{self.schema}".mine (x int)'):
                with self.subTest(statement=forbidden):
                    with self.assertRaises(psycopg2.errors.InsufficientPrivilege):
                        cur.execute(forbidden)

    def test_revoke_prefix_and_expiry_drop_the_role_and_end_its_sessions(self):
        # The role may own objects (REASSIGN/DROP OWNED makes the drop succeed).
        self.role("owner", creation(self.schema, f'GRANT CREATE ON SCHEMA "{self.schema}" TO "{{{{name}}}}";'),
                  default_ttl="1h")
        self.role("brief", default_ttl=2)
        cases = {
            "revoke": lambda b: self.client.sys.revoke_lease(b["lease_id"]),
            "revoke-prefix": lambda b: self.broker.call("PUT", "sys/leases/revoke-prefix/database/creds/owner"),
            "expiry": None,
        }
        for name, revoke in cases.items():
            with self.subTest(how=name):
                body = self.creds("owner" if revoke else "brief")
                user = body["data"]["username"]
                conn = self.login(body)
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    if revoke:
                        cur.execute(f'CREATE TABLE "{self.schema}"."t_{secrets.token_hex(3)}" (x int)')
                started = time.time()
                if revoke:
                    revoke(body)
                    self.assertEqual(roles_with_prefix(self.pg, user), [])
                else:
                    wait_for(lambda: roles_with_prefix(self.pg, user) == [], 15, f"{user} dropped at expiry")
                    self.assertGreaterEqual(time.time() - started, 0.5)  # not at issue time
                wait_for(lambda: not alive(conn), 5, "the open session to be terminated")
                conn.close()
                with self.assertRaises(psycopg2.OperationalError):
                    self.login(body)
                forgotten = lambda: self.broker.call("PUT", "sys/leases/lookup", {"lease_id": body["lease_id"]})[0] == 400  # noqa: E731
                if revoke:
                    self.assertTrue(forgotten())  # a sync revoke answers once both are gone
                else:
                    wait_for(forgotten, 10, "the expired lease forgotten")  # a moment after DROP ROLE

    def test_renew_moves_valid_until_and_revocation_survives_role_deletion(self):
        self.role("renewer", default_ttl="10m", max_ttl="1h")
        body = self.creds("renewer")
        renewed = self.client.sys.renew_lease(body["lease_id"], increment=1800)
        self.assertEqual(renewed["lease_duration"], 1800)
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute("SELECT rolvaliduntil FROM pg_roles WHERE rolname = %s", (body["data"]["username"],))
            self.assertAlmostEqual(cur.fetchone()[0].timestamp(), time.time() + 1800 + 5, delta=15)
        # Past max_ttl: capped with Vault's warning.
        capped = self.client.sys.renew_lease(body["lease_id"], increment=7200)
        self.assertLessEqual(capped["lease_duration"], 3600)
        self.assertIn("exceeded the effective max_ttl", capped["warnings"][0])
        # The role goes away; its lease still renews and revokes from what the lease holds.
        self.client.secrets.database.delete_role("renewer")
        self.assertEqual(self.client.sys.renew_lease(body["lease_id"], increment=600)["lease_duration"], 600)
        self.client.sys.revoke_lease(body["lease_id"])
        self.assertEqual(roles_with_prefix(self.pg, body["data"]["username"]), [])

    def test_injection_through_names_templates_tokens_and_passwords_is_quoted_or_rejected(self):
        # Role names outside Vault's name pattern never reach a handler.
        for bad in ('x";DROP TABLE app_data;--', "a b", "-x"):
            status, _ = self.broker.call("POST", f"database/roles/{bad}", {"db_name": "pg", "creation_statements": "x"})
            self.assertIn(status, (400, 404), bad)
        # A token's display name is sanitised as Vault does ([^a-zA-Z0-9-] -> "-") before any template sees it.
        evil = f'x"; DROP TABLE "{self.schema}".app_data; --\''
        token = self.client.auth.token.create(policies=["root"], display_name=evil)["auth"]["client_token"]
        self.assertEqual(self.client.lookup_token(token)["data"]["display_name"][:12], "token-x---DR")
        # Usernames whose template text is full of quotes, and passwords from a policy full of quotes,
        # semicolons and backslashes: each placeholder is quoted by the driver for where it stands.
        self.broker.call("PUT", "sys/policies/password/quotes",
                         {"policy": 'length = 24\nrule "charset" {\n  charset = "\'\\";\\\\ $aZ9"\n  min-chars = 8\n}\n'})
        configure_postgres(self.client, "pg-weird", self.pg, password_policy="quotes",
                           username_template='{{.DisplayName | truncate 9}}"; DROP TABLE "' + self.schema +
                                             '".app_data; --\'{{random 4}}')
        self.client.secrets.database.create_role(
            name="weird", db_name="pg-weird",
            creation_statements=["CREATE ROLE {{name}} WITH LOGIN PASSWORD {{password}};",
                                 f'GRANT USAGE ON SCHEMA "{self.schema}" TO "{{{{name}}}}";',
                                 f'GRANT SELECT ON "{self.schema}".app_data TO {{{{username}}}};'])
        body = self.creds("weird", token=token)
        user, password = body["data"]["username"], body["data"]["password"]
        self.assertIn('"; DROP TABLE', user)
        self.assertTrue(any(ch in password for ch in "'\";\\"), password)
        with self.login(body) as conn, conn.cursor() as cur:
            cur.execute(f'SELECT x FROM "{self.schema}".app_data')
            self.assertEqual(cur.fetchall(), [(42,)])
        self.assertTrue(self.table_exists("app_data"))
        self.client.sys.revoke_lease(body["lease_id"])
        self.assertEqual(roles_with_prefix(self.pg, user), [])
        self.assertTrue(self.table_exists("app_data"))
        # A template that would make a name longer than PostgreSQL's 63 bytes is refused, not truncated.
        configure_postgres(self.client, "pg-long", self.pg, username_template="{{random 64}}")
        self.client.secrets.database.create_role(name="long", db_name="pg-long", creation_statements=["SELECT 1"])
        status, err = self.broker.call("GET", "database/creds/long")
        self.assertEqual(status, 400)
        self.assertIn("PostgreSQL names are limited to 63", err["errors"][0])
        # A template that does not parse is refused at config time, with Vault's prefix.
        with self.assertRaises(hvac.exceptions.InvalidRequest) as bad:
            configure_postgres(self.client, "pg-bad", self.pg, username_template="{{ .RoleName | nope }}")
        self.assertIn("invalid username template", str(bad.exception))

    def test_a_token_limited_to_one_creds_path_gets_credentials_there_and_403_elsewhere(self):
        self.role("limited", default_ttl="10m")
        self.client.sys.create_or_update_policy(name="limited", policy='path "database/creds/limited" { capabilities = ["read"] }')
        token = self.client.auth.token.create(policies=["limited"], ttl="1h")["auth"]["client_token"]
        body = self.creds("limited", token=token)
        # hvac sends display_name "token", which Vault (and credbroker) prefix: "token-token", cut to 8.
        self.assertTrue(body["data"]["username"].startswith("v-token-to-limited-"), body["data"]["username"])
        denied = [("GET", "database/creds/reader"), ("GET", "database/config/pg"), ("LIST", "database/roles"),
                  ("POST", "database/rotate-root/pg"), ("LIST", "database/static-roles"),
                  ("GET", "database/static-creds/x"), ("POST", "database/rotate-role/x"),
                  ("GET", "database/reconcile/pg"), ("POST", "database/roles/limited"), ("GET", "sys/mounts"),
                  ("PUT", "sys/leases/revoke-prefix/database/creds/limited"), ("DELETE", "sys/mounts/database")]
        for method, path in denied:
            with self.subTest(method=method, path=path):
                status, err = self.broker.call(method, path, {} if method in ("POST", "PUT") else None, token=token)
                self.assertEqual(status, 403, err)
        self.client.sys.revoke_lease(body["lease_id"])

    def test_hvac_end_to_end_and_no_password_in_the_logs(self):
        db = self.client.secrets.database
        configure_postgres(self.client, "hvac-pg", self.pg, allowed_roles=["hvac-app"])
        self.assertEqual(db.read_connection("hvac-pg")["data"]["allowed_roles"], ["hvac-app"])
        self.assertNotIn("password", db.read_connection("hvac-pg")["data"]["connection_details"])
        self.assertIn("hvac-pg", db.list_connections()["data"]["keys"])
        db.create_role(name="hvac-app", db_name="hvac-pg",
                       creation_statements=creation(self.schema, f'GRANT SELECT ON "{self.schema}".app_data TO "{{{{name}}}}";'),
                       default_ttl=600, max_ttl=3600)
        self.assertEqual(db.read_role("hvac-app")["data"]["default_ttl"], 600)
        self.assertIn("hvac-app", db.list_roles()["data"]["keys"])
        issued = [db.generate_credentials("hvac-app") for _ in range(3)]
        self.passwords += [c["data"]["password"] for c in issued]
        for c in issued:
            with self.login(c) as conn, conn.cursor() as cur:
                cur.execute("SELECT current_user")
                self.assertEqual(cur.fetchone()[0], c["data"]["username"])
        lease = issued[0]["lease_id"]
        self.assertEqual(self.client.sys.renew_lease(lease, increment=1200)["lease_duration"], 1200)
        self.assertEqual(self.client.sys.read_lease(lease)["data"]["id"], lease)
        listed = self.client.sys.list_leases("database/creds/hvac-app")["data"]["keys"]
        self.assertEqual(sorted(listed), sorted(c["lease_id"].rsplit("/", 1)[1] for c in issued))
        self.client.sys.revoke_lease(lease)
        self.assertEqual(roles_with_prefix(self.pg, issued[0]["data"]["username"]), [])
        self.client.sys.revoke_prefix("database/creds/hvac-app")
        for c in issued:
            self.assertEqual(roles_with_prefix(self.pg, c["data"]["username"]), [])
        with self.assertRaises(hvac.exceptions.InvalidPath):
            self.client.sys.list_leases("database/creds/hvac-app")
        db.delete_role("hvac-app")
        db.delete_connection("hvac-pg")
        with self.assertRaises(hvac.exceptions.InvalidPath):
            db.read_connection("hvac-pg")
        # Every password issued so far in this class: never in the broker's logs (or the root password).
        logs = self.broker.all_logs()
        self.assertIn("/v1/database/creds/hvac-app", logs)  # the request log is there
        for p in self.passwords + [self.pg["password"]]:
            self.assertNotIn(p, logs)


class PostgresDown(unittest.TestCase):
    """A private cluster that the test stops and starts again."""

    def setUp(self):
        self.cluster = PgCluster()
        self.addCleanup(self.cluster.destroy)
        self.broker = Broker({"lease_revocation": {"backoff_base": "1s", "backoff_cap": "2s"}}).start()
        self.addCleanup(self.broker.destroy)
        self.client = self.broker.client()
        self.client.sys.enable_secrets_engine("database")
        configure_postgres(self.client, "pg", self.cluster.settings, connect_timeout=2)
        self.client.secrets.database.create_role(
            name="app", db_name="pg", default_ttl=3,
            creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"])

    def test_creds_fail_fast_and_expiries_are_revoked_once_the_database_is_back(self):
        pg = self.cluster.settings
        status, first = self.broker.call("GET", "database/creds/app")
        self.assertEqual(status, 200, first)
        user = first["data"]["username"]
        self.cluster.stop()
        started = time.time()
        status, err = self.broker.call("GET", "database/creds/app")
        elapsed = time.time() - started
        self.assertEqual(status, 500, err)
        self.assertIn("connection", err["errors"][0].lower())
        self.assertLess(elapsed, 8, "creds must fail within the configured connect_timeout, not hang")
        self.assertNotIn(pg["password"], err["errors"][0])
        # The lease expires while the database is down: its revocation fails, is kept and retried.
        time.sleep(4)
        status, looked = self.broker.call("PUT", "sys/leases/lookup", {"lease_id": first["lease_id"]})
        self.assertEqual(status, 200, looked)
        self.cluster.start()
        wait_for(lambda: roles_with_prefix(pg, user) == [], 20, f"{user} revoked after the database came back")
        # The lease record goes a moment after DROP ROLE has committed (the revocation returns first).
        wait_for(lambda: self.broker.call("PUT", "sys/leases/lookup", {"lease_id": first["lease_id"]})[0] == 400, 10,
                 "the revoked lease forgotten")
        # Pooled connections to the old server were broken; issuance works again at once.
        status, again = self.broker.call("GET", "database/creds/app")
        self.assertEqual(status, 200, again)
        # Nothing the down database left behind: every role it has with our prefix has a lease.
        roles = roles_with_prefix(pg, "v-root-app-")
        self.assertEqual(roles, [again["data"]["username"]])


class ScramVerifier(unittest.TestCase):
    def test_scram_sha_256_keeps_the_plaintext_out_of_the_servers_statement_log(self):
        cluster = PgCluster(log_statements=True)
        self.addCleanup(cluster.destroy)
        broker = Broker().start()
        self.addCleanup(broker.destroy)
        client = broker.client()
        client.sys.enable_secrets_engine("database")
        for name, auth in (("plain", "password"), ("scram", "scram-sha-256")):
            configure_postgres(client, name, cluster.settings, password_authentication=auth)
            client.secrets.database.create_role(
                name=name, db_name=name, creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';"])
        plain = client.secrets.database.generate_credentials("plain")["data"]
        scram = client.secrets.database.generate_credentials("scram")["data"]
        for creds in (plain, scram):
            with pg_connect(cluster.settings, user=creds["username"], password=creds["password"]) as c, c.cursor() as cur:
                cur.execute("SELECT 1")
        log = cluster.server_log()
        self.assertIn(plain["password"], log)  # PostgreSQL logs what it is sent: the reason for the option
        self.assertNotIn(scram["password"], log)
        self.assertIn("SCRAM-SHA-256$4096:", log)


class ScramIterations(unittest.TestCase):
    """scram_iterations: a low count for passwords of >= 100 bits (the default policy), 4096 for a
    weaker policy, with a warning; each verifier read back from pg_authid and logged in with."""

    @classmethod
    def setUpClass(cls):
        cls.pg = shared_pg()
        cls.broker = Broker().start()
        cls.client = cls.broker.client()
        cls.client.sys.enable_secrets_engine("database")
        configure_postgres(cls.client, "fast", cls.pg, password_authentication="scram-sha-256", scram_iterations=1)

    @classmethod
    def tearDownClass(cls):
        cls.broker.call("PUT", "sys/leases/revoke-prefix/database/creds")  # the roles leave the shared server
        cls.broker.destroy()

    def verifier(self, user):
        with pg_connect(self.pg) as c, c.cursor() as cur:
            cur.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (user,))
            return cur.fetchone()[0]

    def issue_and_login(self, role):
        status, body = self.broker.call("GET", f"database/creds/{role}")
        self.assertEqual(status, 200, body)
        creds = body["data"]
        with pg_connect(self.pg, user=creds["username"], password=creds["password"]) as c, c.cursor() as cur:
            cur.execute("SELECT current_user")
            self.assertEqual(cur.fetchone()[0], creds["username"])
        with self.assertRaises(psycopg2.OperationalError):
            pg_connect(self.pg, user=creds["username"], password="not-" + creds["password"]).close()
        return creds

    def test_a_strong_policy_gets_the_low_count_and_logs_in(self):
        status, body = self.broker.call("POST", "database/roles/strong", {
            "db_name": "fast", "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';"]})
        self.assertEqual(status, 204, body)  # the default policy (~117.5 bits): no warning
        creds = self.issue_and_login("strong")
        self.assertTrue(self.verifier(creds["username"]).startswith("SCRAM-SHA-256$1:"))

    def test_a_weak_policy_gets_4096_and_a_warning(self):
        status, body = self.broker.call("PUT", "sys/policies/password/short", {
            "policy": 'length = 12\nrule "charset" {\n  charset = "abcdefghijklmnopqrstuvwxyz"\n}\n'})
        self.assertEqual(status, 204, body)
        status, body = self.broker.call("POST", "database/roles/weak", {
            "db_name": "fast", "credential_config": {"password_policy": "short"},
            "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';"]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["warnings"], [
            "the password policy gives 56.4 bits of entropy, less than the 100 that scram_iterations=1 needs: these "
            "credentials get SCRAM verifiers of 4096 iterations"])
        creds = self.issue_and_login("weak")
        self.assertEqual(len(creds["password"]), 12)
        self.assertTrue(self.verifier(creds["username"]).startswith("SCRAM-SHA-256$4096:"))

    def test_bad_values_are_400_in_vaults_format(self):
        base = {"plugin_name": "postgresql-database-plugin", "connection_url": pg_url(self.pg),
                "username": self.pg["user"], "password": self.pg["password"], "allowed_roles": "*"}
        for extra, message in (
                ({"password_authentication": "scram-sha-256", "scram_iterations": 0},
                 "error creating database object: scram_iterations must be between 1 and 1000000"),
                ({"password_authentication": "scram-sha-256", "scram_iterations": 1000001},
                 "error creating database object: scram_iterations must be between 1 and 1000000"),
                ({"password_authentication": "scram-sha-256", "scram_iterations": "many"},
                 "error creating database object: scram_iterations must be an integer"),
                ({"scram_iterations": 1},
                 "error creating database object: scram_iterations applies only with "
                 "password_authentication=scram-sha-256")):
            with self.subTest(extra=extra):
                status, body = self.broker.call("POST", "database/config/bad", {**base, **extra})
                self.assertEqual(status, 400, body)
                self.assertEqual(body, {"errors": [message]})
        status, _ = self.broker.call("GET", "database/config/bad")
        self.assertEqual(status, 404)  # nothing half-written



if __name__ == "__main__":
    unittest.main()
