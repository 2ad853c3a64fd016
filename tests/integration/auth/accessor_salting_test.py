"""No token accessor and no AppRole secret-ID accessor is a storage key in clear (they are HMACs with
the token store's salt, as in Vault), on the real server with the real PostgreSQL: after a run that
creates token trees, secret IDs and leases, the SQLite file's keys (read directly) hold none of the
accessors the API handed out, and every accessor still works. A store written by the first release
(layout1_store/, made by credbroker at commit 7b09797; its fixture.json holds its unseal key, root token,
accessors and secret IDs) is upgraded in place at its first unseal, once, and keeps working.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import calendar
import json
import os
import shutil
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker, configure_postgres, roles_with_prefix, shared_pg, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "layout1_store")


def storage_keys(data_dir):
    with sqlite3.connect(os.path.join(data_dir, "credbroker.db")) as c:
        return [k for (k,) in c.execute("SELECT key FROM kv")]


def clear_in_keys(keys, accessors):
    return sorted({a for a in accessors for k in keys if a in k})


class AccessorSalting(unittest.TestCase):
    def test_no_accessor_in_any_storage_key_after_a_run(self):
        pg = shared_pg()
        b = Broker().start()
        self.addCleanup(b.destroy)
        root = b.client()
        accessors = []
        # A token tree: parent -> child -> grandchild, and an orphan.
        root.sys.create_or_update_policy(name="tree", policy='path "auth/token/create" { capabilities = ["update"] }')
        parent = root.auth.token.create(policies=["tree"], ttl="1h")["auth"]
        child = b.client(parent["client_token"]).auth.token.create(ttl="30m")["auth"]
        grandchild = b.client(child["client_token"]).auth.token.create(ttl="10m")["auth"]
        orphan = root.auth.token.create(ttl="1h", no_parent=True)["auth"]
        accessors += [t["accessor"] for t in (parent, child, grandchild, orphan)]
        # AppRole secret IDs.
        root.sys.enable_auth_method("approle")
        root.write("auth/approle/role/app", token_policies="app", token_ttl="1h")
        role_id = root.read("auth/approle/role/app/role-id")["data"]["role_id"]
        sids = [root.write("auth/approle/role/app/secret-id")["data"] for _ in range(3)]
        accessors += [s["secret_id_accessor"] for s in sids]
        login = root.write("auth/approle/login", role_id=role_id, secret_id=sids[0]["secret_id"])["auth"]
        accessors.append(login["accessor"])
        # Leases created by the child token: the lease manager indexes them by token.
        root.sys.enable_secrets_engine("database")
        prefix = "v-salted-"
        configure_postgres(root, "pg", pg, username_template=prefix + "{{random 10}}")
        root.write("database/roles/app", db_name="pg", default_ttl="1h", max_ttl="2h",
                   creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                                        "VALID UNTIL '{{expiration}}';"])
        child_client = b.client(root.auth.token.create(policies=["root"], ttl="1h")["auth"]["client_token"])
        issuer = child_client.lookup_token()["data"]["accessor"]
        accessors.append(issuer)
        for _ in range(2):
            child_client.read("database/creds/app")
        self.assertEqual(len(roles_with_prefix(pg, prefix)), 2)

        # Every accessor works through the API.
        for a in (parent["accessor"], child["accessor"], orphan["accessor"]):
            self.assertEqual(root.auth.token.lookup_accessor(a)["data"]["accessor"], a)
        self.assertEqual(root.write("auth/approle/role/app/secret-id-accessor/lookup",
                                    secret_id_accessor=sids[1]["secret_id_accessor"])["data"]["secret_id_accessor"],
                         sids[1]["secret_id_accessor"])
        listed = root.list("auth/token/accessors")["data"]["keys"]
        for t in (parent, child, grandchild, orphan):
            self.assertIn(t["accessor"], listed)
        # Revoking by accessor follows the salted parent index and the salted lease index.
        root.auth.token.revoke_accessor(parent["accessor"])
        self.assertEqual(b.call("GET", "auth/token/lookup-self", token=grandchild["client_token"])[0], 403)
        root.auth.token.revoke_accessor(issuer)
        wait_for(lambda: not roles_with_prefix(pg, prefix), 30, "the revoked token's leases revoked")
        root.write("auth/approle/role/app/secret-id-accessor/destroy", secret_id_accessor=sids[2]["secret_id_accessor"])
        b.stop()

        keys = storage_keys(os.path.join(b.dir, "data"))
        self.assertGreater(len(keys), 10)
        self.assertEqual(clear_in_keys(keys, accessors), [])

    def test_a_store_written_by_the_first_release_is_upgraded_once_and_keeps_working(self):
        with open(os.path.join(FIXTURE, "fixture.json")) as f:
            fx = json.load(f)
        b = Broker()
        self.addCleanup(b.destroy)
        data = os.path.join(b.dir, "data")
        os.mkdir(data, 0o700)
        shutil.copy(os.path.join(FIXTURE, "credbroker.db"), os.path.join(data, "credbroker.db"))
        os.chmod(os.path.join(data, "credbroker.db"), 0o600)
        fd = os.open(b.key_file, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w") as f:
            f.write(fx["unseal_key"] + "\n")
        b.root_token = fx["root_token"]
        token_accessors = [t["accessor"] for t in fx["tokens"].values()]
        secret_accessors = [s["accessor"] for s in fx["approle"]["secret_ids"]]
        before = storage_keys(data)
        self.assertEqual(clear_in_keys(before, token_accessors + secret_accessors),
                         sorted(token_accessors + secret_accessors))  # the first release's layout

        b.start()
        self.assertIn("upgrading the layout from 1 to 2", b.all_logs())
        root = b.client()
        self.assertTrue(root.is_authenticated())
        for name, t in fx["tokens"].items():
            self.assertEqual(root.auth.token.lookup_accessor(t["accessor"])["data"]["accessor"], t["accessor"], name)
            self.assertEqual(b.call("GET", "auth/token/lookup-self", token=t["token"])[0], 200, name)
        for s in fx["approle"]["secret_ids"]:
            got = root.write("auth/approle/role/app/secret-id-accessor/lookup", secret_id_accessor=s["accessor"])
            self.assertEqual(got["data"]["secret_id_accessor"], s["accessor"])
        login = root.write("auth/approle/login", role_id=fx["approle"]["role_id"],
                           secret_id=fx["approle"]["secret_ids"][0]["secret_id"])
        self.assertIn("app", login["auth"]["policies"])
        b.stop()
        self.assertEqual(clear_in_keys(storage_keys(data), token_accessors + secret_accessors), [])

        # Once: the next start finds layout 2 and upgrades nothing; the migrated indexes still link.
        b.start()
        self.assertEqual(b.all_logs().count("upgrading the layout from 1 to 2"), 1)
        root = b.client()
        a, child = fx["tokens"]["a"], fx["tokens"]["b"]
        lease = fx["leases_of_a"][0]
        root.auth.token.revoke_accessor(a["accessor"])
        self.assertEqual(b.call("GET", "auth/token/lookup-self", token=child["token"])[0], 403)  # b was a's child
        self.assertEqual(b.call("GET", "auth/token/lookup-self", token=fx["tokens"]["orphan"]["token"])[0], 200)
        # a's leases were found through the migrated index: due now (revoked, or retried if their
        # database is not there), never left at their old expiry.
        status, found = b.call("PUT", "sys/leases/lookup", {"lease_id": lease})
        if status == 200:
            expires = found["data"]["expire_time"]
            self.assertLessEqual(calendar.timegm(time.strptime(expires[:19], "%Y-%m-%dT%H:%M:%S")), time.time() + 5,
                                 expires)
        else:
            self.assertEqual(status, 400, found)
        b.stop()
        self.assertEqual(clear_in_keys(storage_keys(data), token_accessors + secret_accessors), [])


if __name__ == "__main__":
    unittest.main()
