"""Tokens, accessors, secret ids and lease ids that clients put in request paths never reach the log
in clear, against the real binary (SQLite storage, debug logging) on the real PostgreSQL: every path
form that carries one (auth/token/lookup-accessor/<accessor>, revoke-accessor/..., lookup/<token>,
sys/leases/lookup/<lease id>, renew/<lease id>, AppRole secret ids, paths under no mount, paths
outside /v1) is used, then the whole log of the run is searched for each value; the request lines
hold "hmac-sha256:<hex>" in their place (docs/configuration.md, Logs).
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker, configure_postgres, shared_pg  # noqa: E402


class RequestLog(unittest.TestCase):
    def test_credentials_in_paths_are_logged_as_hmacs(self):
        b = Broker(extra_config={"log_level": "debug"})
        self.addCleanup(b.destroy)
        b.start()
        admin = b.client()
        pg = shared_pg()
        admin.sys.enable_secrets_engine("database")
        configure_postgres(admin, "pg", pg)
        admin.secrets.database.create_role(
            name="ro", db_name="pg", default_ttl="5m",
            creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"])
        leases = []
        for _ in range(3):
            status, body = b.call("GET", "database/creds/ro")
            self.assertEqual(status, 200, body)
            leases.append(body["lease_id"])
        tokens = [admin.auth.token.create(policies=["default"], ttl="1h")["auth"] for _ in range(3)]
        admin.sys.enable_auth_method("approle")
        admin.auth.approle.create_or_update_approle("web", token_policies=["default"])
        role_id = admin.auth.approle.read_role_id("web")["data"]["role_id"]
        sid = admin.auth.approle.generate_secret_id("web")["data"]

        tok, acc = tokens[0]["client_token"], tokens[0]["accessor"]
        paths = [
            ("GET", f"auth/token/lookup-accessor/{acc}"), ("POST", f"auth/token/renew-accessor/{acc}"),
            ("GET", f"auth/token/lookup/{tok}"), ("POST", f"auth/token/renew/{tok}"),
            ("POST", f"sys/capabilities-accessor/{acc}"),
            ("POST", f"auth/token/revoke-orphan/{tokens[1]['client_token']}"),
            ("POST", f"auth/token/revoke/{tokens[2]['client_token']}"),
            ("POST", f"auth/token/revoke-accessor/{tokens[2]['accessor']}"),
            ("GET", f"sys/leases/lookup/{leases[0]}"), ("LIST", "sys/leases/lookup/database/creds/ro/"),
            ("PUT", f"sys/leases/renew/{leases[0]}"), ("PUT", f"sys/renew/{leases[0]}"),
            ("PUT", f"sys/leases/revoke/{leases[1]}"), ("PUT", f"sys/revoke/{leases[2]}"),
            ("PUT", f"sys/leases/revoke-prefix/{leases[0]}"), ("PUT", f"sys/leases/revoke-force/{leases[0]}"),
            ("GET", f"auth/approle/role/web/secret-id/{sid['secret_id']}"),
            ("POST", f"auth/approle/role/web/secret-id/lookup/{sid['secret_id']}"),
            ("GET", f"auth/approle/role/web/secret-id-accessor/{sid['secret_id_accessor']}"),
            ("POST", f"auth/approle/login/{sid['secret_id']}"),
            ("GET", f"cubbyhole/{tok}"), ("GET", f"{tok}"), ("GET", f"{acc}/x"),
        ]
        for method, path in paths:
            b.call(method, path)
        for path in (f"/ui/vault/{tok}", f"/v2/{acc}"):
            b.session.get(b.addr + path, timeout=10)
        b.stop()

        text = b.all_logs()
        values = {"token": tok, "accessor": acc, "secret id": sid["secret_id"],
                  "secret id accessor": sid["secret_id_accessor"], "role id": role_id}
        for t in tokens:
            values[f"token {t['accessor']}"] = t["client_token"]
            values[f"accessor of {t['accessor'][:4]}"] = t["accessor"]
        for lease in leases:
            values[f"lease {lease[-6:]}"] = lease.rsplit("/", 1)[1]
        for what, value in values.items():
            self.assertNotIn(value, text, f"the {what} is in the log in clear")
        request_lines = [line for line in text.splitlines() if "request method=" in line]
        hashed = [line for line in request_lines if re.search(r"path=\S*hmac-sha256:[0-9a-f]{64}", line)]
        self.assertGreaterEqual(len(hashed), len(paths) + 2, "\n".join(request_lines[-40:]))
        # The parts that carry no credential stay readable.
        self.assertTrue(any("path=/v1/auth/token/lookup-accessor/hmac-sha256:" in line for line in request_lines))
        self.assertTrue(any("path=/v1/sys/leases/lookup/hmac-sha256:" in line for line in request_lines))
        self.assertTrue(any("path=/v1/database/creds/ro " in line for line in request_lines))


if __name__ == "__main__":
    unittest.main()
