"""The whole lifecycle through hvac 2.x's own methods against a fresh, uninitialised credbroker
(tests/clients/support/run_client.py starts it and passes VAULT_ADDR): seal-status, init, unseal;
mount; PostgreSQL and Redis connections; roles; creds with real logins (psycopg2, redis-py);
lease lookup, list, renew, revoke, revoke-prefix; rotate-root; a static role (read, creds,
rotate); AppRole login; a periodic token with policies; ACL policies (current and legacy paths);
capabilities; seal. Every secret hvac is given goes to $CREDBROKER_CLIENT_SECRETS.
Run with the virtualenv of install.sh: $CREDBROKER_CLIENTS_DIR/hvac2/venv/bin/python."""
import importlib.metadata
import os
import secrets
import sys
import time
import unittest

import hvac
import hvac.exceptions
import psycopg2
import redis

ADDR = os.environ["VAULT_ADDR"]
SECRETS_FILE = os.environ["CREDBROKER_CLIENT_SECRETS"]
PG = {"host": os.environ["CREDBROKER_TEST_PG_HOST"], "port": int(os.environ["CREDBROKER_TEST_PG_PORT"]),
      "user": os.environ["CREDBROKER_TEST_PG_USER"], "password": os.environ["CREDBROKER_TEST_PG_PASSWORD"],
      "dbname": os.environ["CREDBROKER_TEST_PG_DATABASE"]}
REDIS = {"host": os.environ["CREDBROKER_TEST_REDIS_HOST"], "port": int(os.environ["CREDBROKER_TEST_REDIS_PORT"]),
         "username": os.environ["CREDBROKER_TEST_REDIS_USER"], "password": os.environ["CREDBROKER_TEST_REDIS_PASSWORD"]}
TAG = secrets.token_hex(4)  # names of this run's database accounts, so runs never collide
PG_CREATE = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]
PG_ROTATE = ["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"]
APP_POLICY = 'path "database/creds/app" {\n  capabilities = ["read"]\n}\n'


def record(*values):
    with open(SECRETS_FILE, "a") as f:
        for v in values:
            f.write(f"{v}\n")


def pg_connect(user, password):
    return psycopg2.connect(host=PG["host"], port=PG["port"], dbname=PG["dbname"], user=user, password=password,
                            connect_timeout=5)


def pg_admin_exec(sql, *args):
    with pg_connect(PG["user"], PG["password"]) as c, c.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall() if cur.description else None
    c.close()
    return rows


def pg_role_exists(name):
    return bool(pg_admin_exec("SELECT 1 FROM pg_roles WHERE rolname = %s", name))


def wait_for(condition, what, timeout=20):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


def redis_admin():
    return redis.Redis(**REDIS, socket_timeout=5, single_connection_client=True)


class Hvac2Lifecycle(unittest.TestCase):
    """One test: the steps depend on each other (init before mount, mount before config ...)."""

    def setUp(self):
        self.client = hvac.Client(url=ADDR)
        self.pg_admin = f"cb_hvac2_admin_{TAG}"
        self.pg_admin_password = secrets.token_urlsafe(18)
        self.redis_admin = f"cb_hvac2_admin_{TAG}"
        self.redis_admin_password = secrets.token_urlsafe(18)
        self.static_user = f"cb_hvac2_static_{TAG}"
        record(self.pg_admin_password, self.redis_admin_password)
        pg_admin_exec(f'CREATE ROLE "{self.pg_admin}" WITH LOGIN CREATEROLE PASSWORD %s', self.pg_admin_password)
        self.addCleanup(pg_admin_exec, f'DROP ROLE IF EXISTS "{self.pg_admin}"')
        pg_admin_exec(f'CREATE ROLE "{self.static_user}" WITH LOGIN PASSWORD %s', secrets.token_urlsafe(18))
        self.addCleanup(pg_admin_exec, f'DROP ROLE IF EXISTS "{self.static_user}"')
        with redis_admin() as r:
            r.execute_command("ACL", "SETUSER", self.redis_admin, "on", f">{self.redis_admin_password}",
                              "~*", "&*", "+@all")
        self.addCleanup(lambda: redis_admin().execute_command("ACL", "DELUSER", self.redis_admin))

    def test_lifecycle(self):
        print(f"hvac {importlib.metadata.version('hvac')} against {ADDR}", flush=True)
        self.init_and_unseal()
        self.mount_and_configure()
        self.dynamic_postgres_credentials()
        self.dynamic_redis_credentials()
        self.revoke_prefix()
        self.rotate_root()
        self.static_role()
        self.policies_and_capabilities()
        self.approle_login()
        self.periodic_token()
        self.leader()
        self.seal()

    def step(self, name):
        print(f"-- {name}", flush=True)

    # seal-status, init, unseal
    def init_and_unseal(self):
        self.step("seal-status, init, unseal")
        sys_ = self.client.sys
        self.assertFalse(sys_.is_initialized())
        status = sys_.read_seal_status()
        self.assertFalse(status["initialized"])
        self.assertTrue(status["sealed"])
        init = sys_.initialize(secret_shares=3, secret_threshold=2)
        record(init["root_token"], *init["keys"], *init["keys_base64"])
        self.assertEqual(len(init["keys"]), 3)
        self.assertTrue(sys_.is_initialized())
        self.assertTrue(sys_.is_sealed())
        first = sys_.submit_unseal_key(init["keys"][0])
        self.assertTrue(first["sealed"])
        self.assertEqual((first["t"], first["n"], first["progress"]), (2, 3, 1))
        last = sys_.submit_unseal_key(init["keys_base64"][1])  # the base64 form unseals too
        self.assertFalse(last["sealed"])
        self.assertEqual(last["progress"], 0)
        self.assertFalse(sys_.is_sealed())
        self.client.token = init["root_token"]
        self.assertTrue(self.client.is_authenticated())
        health = sys_.read_health_status(method="GET")
        self.assertEqual((health["initialized"], health["sealed"]), (True, False))
        self.assertEqual(sys_.read_health_status(method="HEAD").status_code, 200)
        self.assertEqual(sys_.get_encryption_key_status()["data"]["term"], 1)
        sys_.rotate_encryption_key()
        self.assertEqual(sys_.get_encryption_key_status()["data"]["term"], 2)
        self.init = init

    def mount_and_configure(self):
        self.step("mount, PostgreSQL and Redis connections, roles")
        c = self.client
        c.sys.enable_secrets_engine("database", path="database", description="hvac 2 lifecycle")
        mounts = c.sys.list_mounted_secrets_engines()["data"]
        self.assertEqual(mounts["database/"]["type"], "database")
        c.sys.tune_mount_configuration("database", default_lease_ttl="1h", max_lease_ttl="2h")
        tuned = c.sys.read_mount_configuration("database")["data"]
        self.assertEqual((tuned["default_lease_ttl"], tuned["max_lease_ttl"]), (3600, 7200))
        db = c.secrets.database
        db.configure(name="pg", plugin_name="postgresql-database-plugin", allowed_roles=["app", "static-*"],
                     connection_url=f"postgresql://{{{{username}}}}:{{{{password}}}}@{PG['host']}:{PG['port']}/{PG['dbname']}",
                     username=self.pg_admin, password=self.pg_admin_password)
        conn = db.read_connection("pg")["data"]
        self.assertEqual(conn["plugin_name"], "postgresql-database-plugin")
        self.assertEqual(conn["allowed_roles"], ["app", "static-*"])
        self.assertEqual(conn["connection_details"]["username"], self.pg_admin)
        self.assertNotIn("password", conn["connection_details"])
        db.configure(name="cache", plugin_name="redis-database-plugin", allowed_roles="cache",
                     host=REDIS["host"], port=REDIS["port"], username=self.redis_admin,
                     password=self.redis_admin_password)
        self.assertEqual(sorted(db.list_connections()["data"]["keys"]), ["cache", "pg"])
        db.create_role(name="app", db_name="pg", creation_statements=PG_CREATE, default_ttl=300, max_ttl="20m")
        role = db.read_role("app")["data"]
        self.assertEqual((role["db_name"], role["default_ttl"], role["max_ttl"]), ("pg", 300, 1200))
        self.assertEqual(role["creation_statements"], PG_CREATE)
        db.create_role(name="cache", db_name="cache", creation_statements=['["~cache:*", "+@read", "+@write"]'],
                       default_ttl="5m")
        self.assertEqual(sorted(db.list_roles()["data"]["keys"]), ["app", "cache"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as bad:
            db.generate_credentials("nope")
        self.assertIn("unknown role: nope", str(bad.exception))

    def dynamic_postgres_credentials(self):
        self.step("PostgreSQL creds, login, lease lookup/list/renew/revoke")
        c = self.client
        creds = c.secrets.database.generate_credentials("app")
        user, password = creds["data"]["username"], creds["data"]["password"]
        record(password)
        self.assertTrue(creds["renewable"])
        self.assertEqual(creds["lease_duration"], 300)
        self.assertTrue(creds["lease_id"].startswith("database/creds/app/"))
        with pg_connect(user, password) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_user")
            self.assertEqual(cur.fetchone()[0], user)
        conn.close()
        lease = c.sys.read_lease(creds["lease_id"])["data"]
        self.assertEqual(lease["id"], creds["lease_id"])
        self.assertTrue(lease["renewable"])
        self.assertLessEqual(lease["ttl"], 300)
        listed = c.sys.list_leases("database/creds/app/")["data"]["keys"]
        self.assertIn(creds["lease_id"].rsplit("/", 1)[1], listed)
        renewed = c.sys.renew_lease(creds["lease_id"], increment=600)
        self.assertEqual(renewed["lease_id"], creds["lease_id"])
        self.assertEqual(renewed["lease_duration"], 600)
        past_max = c.sys.renew_lease(creds["lease_id"], increment="3h")  # capped at the role's max_ttl
        self.assertLessEqual(past_max["lease_duration"], 1200)
        self.assertGreater(past_max["lease_duration"], 1100)
        self.assertTrue(any("capped" in w for w in past_max["warnings"]), past_max["warnings"])
        c.sys.revoke_lease(creds["lease_id"])
        self.assertFalse(pg_role_exists(user))
        with self.assertRaises(psycopg2.OperationalError):
            pg_connect(user, password)
        with self.assertRaises(hvac.exceptions.InvalidRequest):
            c.sys.read_lease(creds["lease_id"])

    def dynamic_redis_credentials(self):
        self.step("Redis creds, login, revoke")
        c = self.client
        creds = c.secrets.database.generate_credentials("cache")
        user, password = creds["data"]["username"], creds["data"]["password"]
        record(password)
        r = redis.Redis(host=REDIS["host"], port=REDIS["port"], username=user, password=password, socket_timeout=5)
        r.set(f"cache:hvac2:{TAG}", "v")
        self.assertEqual(r.get(f"cache:hvac2:{TAG}"), b"v")
        with self.assertRaises(redis.exceptions.NoPermissionError):
            r.set(f"other:hvac2:{TAG}", "v")
        r.delete(f"cache:hvac2:{TAG}")
        r.close()
        c.sys.revoke_lease(creds["lease_id"])
        with redis_admin() as admin:
            self.assertNotIn(user, admin.acl_users())
        with self.assertRaises(redis.exceptions.AuthenticationError):
            redis.Redis(host=REDIS["host"], port=REDIS["port"], username=user, password=password).ping()

    def revoke_prefix(self):
        self.step("revoke-prefix")
        c = self.client
        users = []
        for _ in range(3):
            creds = c.secrets.database.generate_credentials("app")
            record(creds["data"]["password"])
            users.append(creds["data"]["username"])
        self.assertTrue(all(pg_role_exists(u) for u in users))
        c.sys.revoke_prefix("database/creds/app")
        self.assertEqual([u for u in users if pg_role_exists(u)], [])
        with self.assertRaises(hvac.exceptions.InvalidPath):  # nothing left under the prefix: 404
            c.sys.list_leases("database/creds/app/")
        forced = c.secrets.database.generate_credentials("app")
        record(forced["data"]["password"])
        c.sys.revoke_force("database/creds/app")
        self.assertFalse(pg_role_exists(forced["data"]["username"]))
        c.secrets.database.create_role(name="gone", db_name="pg", creation_statements=PG_CREATE)
        c.secrets.database.delete_role("gone")
        with self.assertRaises(hvac.exceptions.InvalidPath):
            c.secrets.database.read_role("gone")

    def rotate_root(self):
        self.step("rotate-root")
        db = self.client.secrets.database
        db.rotate_root_credentials("pg")
        with self.assertRaises(psycopg2.OperationalError):
            pg_connect(self.pg_admin, self.pg_admin_password)
        creds = db.generate_credentials("app")  # still issues with the new root password
        record(creds["data"]["password"])
        pg_connect(creds["data"]["username"], creds["data"]["password"]).close()
        self.client.sys.revoke_lease(creds["lease_id"])
        self.assertFalse(pg_role_exists(creds["data"]["username"]))
        db.reset_connection("pg")
        self.assertNotIn("password", db.read_connection("pg")["data"]["connection_details"])
        db.rotate_root_credentials("cache")  # Redis: the admin user's password changes too
        with self.assertRaises(redis.exceptions.AuthenticationError):
            redis.Redis(host=REDIS["host"], port=REDIS["port"], username=self.redis_admin,
                        password=self.redis_admin_password).ping()
        creds = db.generate_credentials("cache")
        record(creds["data"]["password"])
        self.assertIsNone(redis.Redis(host=REDIS["host"], port=REDIS["port"], username=creds["data"]["username"],
                                      password=creds["data"]["password"]).get(f"cache:hvac2:{TAG}"))
        self.client.sys.revoke_lease(creds["lease_id"])

    def static_role(self):
        self.step("static role: create, read, creds, login, rotate")
        db = self.client.secrets.database
        db.create_static_role(name="static-app", db_name="pg", username=self.static_user,
                              rotation_statements=PG_ROTATE, rotation_period=3600)
        role = db.read_static_role("static-app")["data"]
        self.assertEqual((role["username"], role["rotation_period"]), (self.static_user, 3600))
        self.assertIn("static-app", db.list_static_roles()["data"]["keys"])
        creds = db.get_static_credentials("static-app")["data"]
        record(creds["password"])
        self.assertEqual(creds["username"], self.static_user)
        self.assertGreater(creds["ttl"], 3500)
        pg_connect(self.static_user, creds["password"]).close()
        db.rotate_static_role_credentials("static-app")
        again = db.get_static_credentials("static-app")["data"]
        record(again["password"])
        self.assertNotEqual(again["password"], creds["password"])
        with self.assertRaises(psycopg2.OperationalError):
            pg_connect(self.static_user, creds["password"])
        pg_connect(self.static_user, again["password"]).close()
        db.delete_static_role("static-app")
        self.assertTrue(pg_role_exists(self.static_user))  # the account stays

    def policies_and_capabilities(self):
        self.step("ACL policies (sys/policies/acl and legacy sys/policy), capabilities")
        s = self.client.sys
        s.create_or_update_acl_policy(name="app-reader", policy=APP_POLICY)
        self.assertEqual(s.read_acl_policy("app-reader")["data"]["policy"], APP_POLICY)
        self.assertIn("app-reader", s.list_acl_policies()["data"]["keys"])
        s.create_or_update_policy(name="legacy", policy={"path": {"sys/mounts": {"capabilities": ["read"]}}})
        self.assertIn("sys/mounts", s.read_policy("legacy")["data"]["rules"])
        self.assertIn("legacy", s.list_policies()["data"]["policies"])
        s.delete_policy("legacy")
        with self.assertRaises(hvac.exceptions.InvalidPath):
            s.read_acl_policy("legacy")
        limited = self.client.auth.token.create(policies=["app-reader"], ttl="10m")
        token = limited["auth"]["client_token"]
        record(token)
        caps = s.get_capabilities(paths=["database/creds/app", "database/config/pg"], token=token)
        self.assertEqual(caps["database/creds/app"], ["read"])
        self.assertEqual(caps["database/config/pg"], ["deny"])
        mine = s.get_capabilities(paths=["database/creds/app"])  # capabilities-self, the root token
        self.assertEqual(mine["database/creds/app"], ["root"])
        as_limited = hvac.Client(url=ADDR, token=token)
        self.assertEqual(as_limited.sys.get_capabilities(paths="database/creds/app")["capabilities"], ["read"])
        self.limited_token = token

    def approle_login(self):
        self.step("AppRole: enable, role, role-id, secret-id, login, use")
        c = self.client
        c.sys.enable_auth_method("approle")
        self.assertIn("approle/", c.sys.list_auth_methods()["data"])
        approle = c.auth.approle
        approle.create_or_update_approle("svc", token_policies=["app-reader"], token_ttl="10m", token_max_ttl="30m",
                                         secret_id_num_uses=5, secret_id_ttl="10m")
        self.assertEqual(approle.read_role("svc")["data"]["token_policies"], ["app-reader"])
        self.assertIn("svc", approle.list_roles()["data"]["keys"])
        role_id = approle.read_role_id("svc")["data"]["role_id"]
        secret = approle.generate_secret_id("svc", metadata={"team": "payments"})["data"]
        record(secret["secret_id"], secret["secret_id_accessor"])
        looked = approle.read_secret_id("svc", secret["secret_id"])["data"]
        self.assertEqual(looked["metadata"], {"team": "payments"})
        self.assertEqual(looked["secret_id_num_uses"], 5)
        self.assertIn(secret["secret_id_accessor"], approle.list_secret_id_accessors("svc")["data"]["keys"])
        spare = approle.generate_secret_id("svc")["data"]
        record(spare["secret_id"], spare["secret_id_accessor"])
        self.assertEqual(approle.read_secret_id_accessor("svc", spare["secret_id_accessor"])["data"]["secret_id_accessor"],
                         spare["secret_id_accessor"])
        approle.destroy_secret_id_accessor("svc", spare["secret_id_accessor"])
        with self.assertRaises(hvac.exceptions.InvalidRequest):
            hvac.Client(url=ADDR).auth.approle.login(role_id=approle.read_role_id("svc")["data"]["role_id"],
                                                     secret_id=spare["secret_id"])
        app = hvac.Client(url=ADDR)
        login = app.auth.approle.login(role_id=role_id, secret_id=secret["secret_id"])
        record(login["auth"]["client_token"], login["auth"]["accessor"])
        self.assertEqual(login["auth"]["token_policies"], ["app-reader", "default"])
        self.assertEqual(login["auth"]["lease_duration"], 600)
        self.assertEqual(app.token, login["auth"]["client_token"])  # use_token=True
        creds = app.secrets.database.generate_credentials("app")
        record(creds["data"]["password"])
        pg_connect(creds["data"]["username"], creds["data"]["password"]).close()
        with self.assertRaises(hvac.exceptions.Forbidden):
            app.secrets.database.read_connection("pg")
        app.sys.renew_lease(creds["lease_id"], increment=60)  # the default policy allows renewing
        with self.assertRaises(hvac.exceptions.InvalidRequest):
            hvac.Client(url=ADDR).auth.approle.login(role_id=role_id, secret_id="wrong-" + secret["secret_id"])
        app.auth.token.revoke_self()  # its leases expire now and are revoked soon after (as in Vault)
        wait_for(lambda: not pg_role_exists(creds["data"]["username"]), "the revoked token's user is dropped")

    def periodic_token(self):
        self.step("token create with policies and period, lookup, renew")
        t = self.client.auth.token
        created = t.create(policies=["app-reader"], period="1h", display_name="hvac2-svc", meta={"owner": "hvac2"})
        auth = created["auth"]
        record(auth["client_token"], auth["accessor"])
        self.assertEqual(auth["policies"], ["app-reader", "default"])
        self.assertEqual(auth["lease_duration"], 3600)
        self.assertTrue(auth["renewable"])
        self.assertEqual(auth["metadata"], {"owner": "hvac2"})
        looked = t.lookup(auth["client_token"])["data"]
        self.assertEqual(looked["period"], 3600)
        self.assertEqual(looked["display_name"], "token-hvac2-svc")
        self.assertEqual(looked["meta"], {"owner": "hvac2"})
        by_accessor = t.lookup_accessor(auth["accessor"])["data"]
        self.assertEqual(by_accessor["policies"], ["app-reader", "default"])
        svc = hvac.Client(url=ADDR, token=auth["client_token"])
        self.assertEqual(svc.auth.token.lookup_self()["data"]["id"], auth["client_token"])
        renewed = svc.auth.token.renew_self(increment="10m")  # a periodic token renews to its period
        self.assertEqual(renewed["auth"]["lease_duration"], 3600)
        orphan = t.create_orphan(policies=["app-reader"], ttl="10m")["auth"]
        record(orphan["client_token"], orphan["accessor"])
        self.assertTrue(orphan["orphan"])
        self.assertEqual(t.renew(orphan["client_token"], increment="5m")["auth"]["lease_duration"], 300)
        t.revoke(orphan["client_token"])
        with self.assertRaises(hvac.exceptions.Forbidden):
            hvac.Client(url=ADDR, token=orphan["client_token"]).auth.token.lookup_self()
        t.revoke_accessor(auth["accessor"])
        self.assertFalse(svc.is_authenticated())
        with self.assertRaises(hvac.exceptions.Forbidden):
            svc.auth.token.lookup_self()

    def leader(self):
        self.step("auth method tuning, sys/leader")
        c = self.client
        c.sys.tune_auth_method("approle", default_lease_ttl="15m", max_lease_ttl="1h")
        tuned = c.sys.read_auth_method_tuning("approle")["data"]
        self.assertEqual((tuned["default_lease_ttl"], tuned["max_lease_ttl"]), (900, 3600))
        leader = hvac.Client(url=ADDR).sys.read_leader_status()  # unauthenticated, as in Vault
        self.assertFalse(leader["ha_enabled"])
        self.assertFalse(leader.get("is_self", False))  # OpenBao omits it when false

    def seal(self):
        self.step("seal")
        c = self.client
        c.sys.revoke_prefix("database/")
        c.sys.seal()
        self.assertTrue(c.sys.is_sealed())
        with self.assertRaises(hvac.exceptions.VaultDown):
            c.secrets.database.read_connection("pg")
        status = c.sys.read_seal_status()
        self.assertEqual((status["sealed"], status["t"], status["n"], status["progress"]), (True, 2, 3, 0))
        c.sys.submit_unseal_keys(self.init["keys"][1:])  # unseals again with other keys
        self.assertFalse(c.sys.is_sealed())
        self.assertEqual(c.secrets.database.read_role("app")["data"]["db_name"], "pg")
        c.sys.seal()
        self.assertTrue(c.sys.is_sealed())


if __name__ == "__main__":
    unittest.main(verbosity=2)
