"""How credbroker.db and fixture.json here were made: the credbroker binary of commit 7b09797 (storage
layout 1) serving a fresh SQLite store on 127.0.0.1:18532, its database connection a dummy role of a
throwaway PostgreSQL on port 15530; then stopped with SIGTERM. Kept for reference; not run by the tests."""
import json, requests
A = "http://127.0.0.1:18532/v1/"
def call(m, p, body=None, token=None):
    r = requests.request(m, A + p, json=body, headers={"X-Vault-Token": token} if token else {})
    assert r.status_code < 300, (p, r.status_code, r.text)
    return r.json() if r.content else None
init = call("PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1})
key, root = init["keys"][0], init["root_token"]
call("PUT", "sys/unseal", {"key": key})
call("PUT", "sys/policy/app", {"policy": 'path "database/creds/app" { capabilities = ["read"] }'}, root)
a = call("POST", "auth/token/create", {}, root)["auth"]           # root policy, never expires
b = call("POST", "auth/token/create", {}, a["client_token"])["auth"]  # child of a
o = call("POST", "auth/token/create-orphan", {}, root)["auth"]    # orphan
call("POST", "sys/auth/approle", {"type": "approle"}, root)
call("POST", "auth/approle/role/app", {"token_policies": "app", "secret_id_ttl": 0, "token_ttl": "1h"}, root)
role_id = call("GET", "auth/approle/role/app/role-id", None, root)["data"]["role_id"]
sids = [call("POST", "auth/approle/role/app/secret-id", {}, root)["data"] for _ in range(2)]
call("POST", "sys/mounts/database", {"type": "database"}, root)
call("POST", "database/config/pg", {"plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
     "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:15530/postgres",
     "username": "fixture_admin", "password": "fixture-only-password", "verify_connection": False}, root)
call("POST", "database/roles/app", {"db_name": "pg", "default_ttl": "768h", "max_ttl": "768h",
     "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]}, root)
leases = [call("GET", "database/creds/app", None, a["client_token"])["lease_id"] for _ in range(2)]
out = {"unseal_key": key, "root_token": root,
       "tokens": {"a": {"token": a["client_token"], "accessor": a["accessor"]},
                  "b": {"token": b["client_token"], "accessor": b["accessor"]},
                  "orphan": {"token": o["client_token"], "accessor": o["accessor"]}},
       "approle": {"role_id": role_id, "secret_ids": [{"secret_id": s["secret_id"], "accessor": s["secret_id_accessor"]} for s in sids]},
       "leases_of_a": leases}
json.dump(out, open("fixture.json", "w"), indent=1)
print(json.dumps(out)[:300])
