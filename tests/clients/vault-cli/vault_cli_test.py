"""The vault CLI's exact requests, replayed against credbroker.

Each row is one HTTP request as the vault command sends it: the method, the path, the body byte for
byte as Go's encoding/json writes it (struct fields in declaration order, map keys sorted), and the
headers of the Go api client (X-Vault-Request: true on every request, X-Vault-Token once logged in,
Go's own User-Agent and Accept-Encoding; no Content-Type). `source` names the vault repository files
the row was read from (command/ for what the command builds, api/ for what the client sends,
github.com/hashicorp/vault/api v1.23.0). `reads` are the fields the CLI takes from the answer: each
must be there, with the JSON type the Go code decodes it into. The rows run in order against one
fresh broker (run_client.py), from `vault status` on an uninitialised server to `vault operator seal`.
"""
import base64
import http.client
import json
import os
import secrets
import unittest
import urllib.parse

import psycopg2

ADDR = urllib.parse.urlparse(os.environ["VAULT_ADDR"])
PG = {k: os.environ["CREDBROKER_TEST_PG_" + k.upper()] for k in ("host", "port", "user", "password", "database")}

# The headers every request of the Go api client carries (api/client.go: NewClient sets
# X-Vault-Request; net/http adds User-Agent and Accept-Encoding); X-Vault-Token once a token is set
# (api/request.go toRetryableHTTP).
GO_HEADERS = {"X-Vault-Request": "true", "User-Agent": "Go-http-client/1.1", "Accept-Encoding": "gzip"}

STR, NUM, BOOL, LIST, OBJ, NULL_OR_STR = str, (int, float), bool, list, dict, (type(None), str)


class Row:
    # token: True sends the root token once there is one, a name the token saved under it, False none.
    # headers: sent besides GO_HEADERS (X-Vault-Wrap-TTL of -wrap-ttl).
    def __init__(self, cmd, method, path, body, source, status=200, reads=(), token=True, save=None, check=None,
                 headers=None):
        self.cmd, self.method, self.path, self.body, self.source = cmd, method, path, body, source
        self.status, self.reads, self.token, self.save, self.check = status, reads, token, save, check
        self.headers = headers or {}


MOUNT_INPUT = ('{"type":"database","description":"","config":{"options":null,"default_lease_ttl":"",'
               '"max_lease_ttl":"","force_no_cache":false},"local":false,"seal_wrap":false,'
               '"external_entropy_access":false,"options":null}')
AUTH_INPUT = MOUNT_INPUT.replace('"database"', '"approle"')
SEAL_STATUS_READS = [("type", STR), ("initialized", BOOL), ("sealed", BOOL), ("t", NUM), ("n", NUM),
                     ("progress", NUM), ("nonce", STR), ("version", STR), ("build_date", STR), ("migration", BOOL),
                     ("recovery_seal", BOOL), ("storage_type", STR)]
LEADER_READS = [("ha_enabled", BOOL), ("is_self", BOOL), ("active_time", STR), ("leader_address", STR),
                ("leader_cluster_address", STR), ("performance_standby", BOOL),
                ("performance_standby_last_remote_wal", NUM)]
MOUNT_READS = [("type", STR), ("description", STR), ("accessor", STR), ("config.default_lease_ttl", NUM),
               ("config.max_lease_ttl", NUM), ("config.force_no_cache", BOOL), ("local", BOOL), ("seal_wrap", BOOL),
               ("external_entropy_access", BOOL), ("plugin_version", STR), ("running_plugin_version", STR),
               ("running_sha256", STR), ("uuid", STR)]
TOKEN_LOOKUP_READS = [("data.id", STR), ("data.accessor", STR), ("data.policies", LIST), ("data.ttl", NUM),
                      ("data.renewable", BOOL), ("data.display_name", STR), ("data.creation_time", NUM),
                      ("data.num_uses", NUM), ("data.orphan", BOOL), ("data.path", STR), ("data.entity_id", STR)]
AUTH_READS = [("auth.client_token", STR), ("auth.accessor", STR), ("auth.policies", LIST),
              ("auth.token_policies", LIST), ("auth.lease_duration", NUM), ("auth.renewable", BOOL),
              ("auth.entity_id", STR), ("auth.token_type", STR), ("auth.orphan", BOOL)]
SECRET_READS = [("request_id", STR), ("lease_id", STR), ("lease_duration", NUM), ("renewable", BOOL)]
# command/format.go OutputSecret with WrapInfo, api/secret.go SecretWrapInfo.
WRAP_READS = [("wrap_info.token", STR), ("wrap_info.accessor", STR), ("wrap_info.ttl", NUM),
              ("wrap_info.creation_time", STR), ("wrap_info.creation_path", STR)]


def rows(pg_url, admin, admin_password):
    config_body = json.dumps({"allowed_roles": "app", "connection_url": pg_url, "password": admin_password,
                              "plugin_name": "postgresql-database-plugin", "username": admin},
                             separators=(",", ":"), sort_keys=True)
    role_body = json.dumps({"creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
                            "db_name": "pg", "default_ttl": "1h", "max_ttl": "24h"}, separators=(",", ":"), sort_keys=True)
    return [
        Row("vault status (uninitialised)", "GET", "sys/seal-status", None,
            "command/status.go, api/sys_seal.go SealStatus", reads=SEAL_STATUS_READS, token=False,
            check=lambda t, b: t.assertEqual((b["initialized"], b["sealed"]), (False, True))),
        Row("vault operator init", "PUT", "sys/init",
            '{"secret_shares":5,"secret_threshold":3,"stored_shares":0,"pgp_keys":null,"recovery_shares":5,'
            '"recovery_threshold":3,"recovery_pgp_keys":null,"root_token_pgp_key":""}',
            "command/operator_init.go (key-shares 5, key-threshold 3, recovery 5/3 defaults), api/sys_init.go InitRequest",
            reads=[("keys", LIST), ("keys_base64", LIST), ("root_token", STR)], token=False, save="init"),
        Row("vault operator unseal KEY (1 of 3)", "PUT", "sys/unseal", '{"key":"{key0}"}',
            "command/operator_unseal.go, api/sys_seal.go Unseal", reads=SEAL_STATUS_READS, token=False,
            check=lambda t, b: t.assertEqual((b["sealed"], b["progress"]), (True, 1))),
        Row("vault operator unseal KEY (2 of 3)", "PUT", "sys/unseal", '{"key":"{key1}"}',
            "command/operator_unseal.go, api/sys_seal.go Unseal", reads=SEAL_STATUS_READS, token=False),
        Row("vault operator unseal KEY (3 of 3)", "PUT", "sys/unseal", '{"key":"{key2}"}',
            "command/operator_unseal.go, api/sys_seal.go Unseal", reads=SEAL_STATUS_READS, token=False,
            check=lambda t, b: t.assertFalse(b["sealed"])),
        Row("vault operator unseal / vault status: leader", "GET", "sys/leader", None,
            "command/format.go OutputSealStatus (asks when unsealed), api/sys_leader.go Leader", reads=LEADER_READS,
            token=False, check=lambda t, b: t.assertFalse(b["ha_enabled"])),
        Row("vault status (unsealed)", "GET", "sys/seal-status", None, "command/status.go, api/sys_seal.go SealStatus",
            reads=SEAL_STATUS_READS + [("cluster_name", STR), ("cluster_id", STR)], token=False),
        Row("vault login TOKEN", "GET", "auth/token/lookup-self", None,
            "command/login.go, builtin/credential/token/cli.go Auth, api/auth_token.go LookupSelf",
            reads=TOKEN_LOOKUP_READS, check=lambda t, b: t.assertEqual(b["data"]["policies"], ["root"])),
        Row("vault secrets enable database", "POST", "sys/mounts/database", MOUNT_INPUT,
            "command/secrets_enable.go, api/sys_mounts.go Mount (MountInput, MountConfigInput)", status=204),
        Row("vault secrets enable -path=scratch database", "POST", "sys/mounts/scratch", MOUNT_INPUT,
            "command/secrets_enable.go, api/sys_mounts.go Mount", status=204),
        Row("vault secrets list", "GET", "sys/mounts", None, "command/secrets_list.go, api/sys_mounts.go ListMounts",
            reads=[("data.database/." + f, ty) for f, ty in MOUNT_READS] + [("data.sys/.type", STR)]),
        Row("vault secrets tune -max-lease-ttl=24h database", "POST", "sys/mounts/database/tune",
            '{"options":null,"default_lease_ttl":"","max_lease_ttl":"24h0m0s","force_no_cache":false}',
            "command/secrets_tune.go (ttlToAPI: unset -> \"\"), command/base_helpers.go ttlToAPI, api/sys_mounts.go TuneMount",
            status=204),
        Row("vault secrets tune -default-lease-ttl=1h database", "POST", "sys/mounts/database/tune",
            '{"options":null,"default_lease_ttl":"1h0m0s","max_lease_ttl":"","force_no_cache":false}',
            "command/secrets_tune.go, api/sys_mounts.go TuneMount", status=204),
        Row("vault read sys/mounts/database/tune (the earlier max TTL kept)", "GET", "sys/mounts/database/tune", None,
            "command/read.go, api/logical.go Read; api/sys_mounts.go MountConfig",
            reads=[("data.default_lease_ttl", NUM), ("data.max_lease_ttl", NUM), ("data.force_no_cache", BOOL)],
            check=lambda t, b: t.assertEqual((b["data"]["default_lease_ttl"], b["data"]["max_lease_ttl"]), (3600, 86400))),
        Row("vault secrets disable scratch", "DELETE", "sys/mounts/scratch", None,
            "command/secrets_disable.go, api/sys_mounts.go Unmount", status=204),
        Row("vault auth enable approle", "POST", "sys/auth/approle", AUTH_INPUT,
            "command/auth_enable.go, api/sys_auth.go EnableAuthWithOptions (EnableAuthOptions = MountInput)", status=204),
        Row("vault auth list", "GET", "sys/auth", None, "command/auth_list.go, api/sys_auth.go ListAuth",
            reads=[("data.approle/." + f, ty) for f, ty in MOUNT_READS] + [("data.token/.type", STR)]),
        Row("vault auth tune -default-lease-ttl=30m approle", "POST", "sys/mounts/auth/approle/tune",
            '{"options":null,"default_lease_ttl":"30m0s","max_lease_ttl":"","force_no_cache":false}',
            "command/auth_tune.go (TuneMount(\"auth/\"+path)), api/sys_mounts.go TuneMount", status=204),
        Row("vault read sys/auth/approle/tune", "GET", "sys/auth/approle/tune", None, "command/read.go, api/logical.go Read",
            reads=[("data.default_lease_ttl", NUM), ("data.max_lease_ttl", NUM)],
            check=lambda t, b: t.assertEqual(b["data"]["default_lease_ttl"], 1800)),
        Row("vault write database/config/pg ...", "PUT", "database/config/pg", config_body,
            "command/write.go (k=v args as a map), api/logical.go Write", status=204),
        Row("vault write database/roles/app ...", "PUT", "database/roles/app", role_body,
            "command/write.go, api/logical.go Write", status=204),
        Row("vault read database/roles/app", "GET", "database/roles/app", None, "command/read.go, api/logical.go Read",
            reads=SECRET_READS + [("data.db_name", STR), ("data.default_ttl", NUM), ("data.max_ttl", NUM),
                                  ("data.creation_statements", LIST)]),
        Row("vault list database/roles", "LIST", "database/roles", None, "command/list.go, api/logical.go List (LIST verb)",
            reads=[("data.keys", LIST)], check=lambda t, b: t.assertEqual(b["data"]["keys"], ["app"])),
        Row("vault read database/creds/app", "GET", "database/creds/app", None, "command/read.go, api/logical.go Read",
            reads=SECRET_READS + [("data.username", STR), ("data.password", STR)], save="lease"),
        Row("vault lease renew LEASE", "PUT", "sys/leases/renew", '{"increment":0,"lease_id":"{lease}"}',
            "command/lease_renew.go (increment default 0), api/sys_leases.go Renew", reads=SECRET_READS,
            check=lambda t, b: t.assertTrue(b["renewable"])),
        Row("vault lease renew -increment=10m LEASE", "PUT", "sys/leases/renew", '{"increment":600,"lease_id":"{lease}"}',
            "command/lease_renew.go, api/sys_leases.go Renew", reads=SECRET_READS,
            check=lambda t, b: t.assertEqual(b["lease_duration"], 600)),
        Row("vault lease revoke LEASE", "PUT", "sys/leases/revoke/{lease}", '{"sync":true}',
            "command/lease_revoke.go (-sync default true), api/sys_leases.go RevokeWithOptions", status=204),
        Row("vault read database/creds/app (again)", "GET", "database/creds/app", None, "command/read.go, api/logical.go Read",
            reads=SECRET_READS, save="lease"),
        Row("vault read -wrap-ttl=2m database/creds/app", "GET", "database/creds/app", None,
            "command/base.go (-wrap-ttl: SetWrappingLookupFunc answers flagWrapTTL.String()), "
            "api/request.go toRetryableHTTP (X-Vault-Wrap-TTL)", headers={"X-Vault-Wrap-TTL": "2m0s"},
            reads=WRAP_READS, save="wrap",
            check=lambda t, b: t.assertEqual((b["data"], b["wrap_info"]["ttl"]), (None, 120))),
        Row("vault unwrap WRAPPING_TOKEN", "PUT", "sys/wrapping/unwrap", '{"token":"{wrap}"}',
            "command/unwrap.go, api/logical.go Unwrap (a token other than the client's goes in the body)",
            reads=SECRET_READS + [("data.username", STR), ("data.password", STR)], save="lease"),
        Row("vault unwrap WRAPPING_TOKEN (again)", "PUT", "sys/wrapping/unwrap", '{"token":"{wrap}"}',
            "command/unwrap.go, api/logical.go Unwrap", status=400,
            check=lambda t, b: t.assertEqual(b, {"errors": ["wrapping token is not valid or does not exist"]})),
        Row("vault lease revoke -prefix database/creds/app", "PUT", "sys/leases/revoke-prefix/database/creds/app",
            '{"sync":true}', "command/lease_revoke.go, api/sys_leases.go RevokeWithOptions", status=204),
        Row("vault lease revoke -force -prefix database/creds/app", "PUT", "sys/leases/revoke-force/database/creds/app",
            None, "command/lease_revoke.go, api/sys_leases.go RevokeWithOptions (no body with Force)", status=204),
        Row("vault write -f database/rotate-root/pg", "PUT", "database/rotate-root/pg", "null",
            "command/write.go (-f: no data, Write(path, nil)), api/logical.go Write (json of a nil map)", status=204),
        Row("vault policy write app-reader FILE", "PUT", "sys/policies/acl/app-reader",
            '{"policy":"path \\"database/creds/app\\" {\\n  capabilities = [\\"read\\"]\\n}\\n"}',
            "command/policy_write.go, api/sys_policy.go PutPolicy", status=204),
        Row("vault policy read app-reader", "GET", "sys/policies/acl/app-reader", None,
            "command/policy_read.go, api/sys_policy.go GetPolicy", reads=[("data.policy", STR)]),
        Row("vault policy list", "LIST", "sys/policies/acl", None, "command/policy_list.go, api/sys_policy.go ListPolicies",
            reads=[("data.keys", LIST)], check=lambda t, b: t.assertIn("app-reader", b["data"]["keys"])),
        Row("vault token create -policy=app-reader -period=24h", "POST", "auth/token/create",
            '{"policies":["app-reader"],"ttl":"0s","explicit_max_ttl":"0s","period":"24h0m0s","display_name":"",'
            '"num_uses":0,"renewable":true,"type":"service","entity_alias":""}',
            "command/token_create.go (durations as Go's String(), type default service, renewable default true), "
            "api/auth_token.go Create (TokenCreateRequest)", reads=AUTH_READS, save="token",
            check=lambda t, b: t.assertEqual((b["auth"]["lease_duration"], b["auth"]["token_policies"]),
                                             (86400, ["app-reader", "default"]))),
        Row("vault write auth/token/roles/ci allowed_policies=app-reader orphan=true", "PUT", "auth/token/roles/ci",
            '{"allowed_policies":"app-reader","orphan":"true"}',
            "command/write.go (k=v pairs as strings, map keys sorted), api/logical.go Write", status=204),
        Row("vault token create -role=ci", "POST", "auth/token/create/ci",
            '{"ttl":"0s","explicit_max_ttl":"0s","period":"0s","display_name":"","num_uses":0,"renewable":true,'
            '"type":"service","entity_alias":""}',
            "command/token_create.go (-role: CreateWithRole), api/auth_token.go CreateWithRole", reads=AUTH_READS,
            check=lambda t, b: t.assertEqual((b["auth"]["token_policies"], b["auth"]["orphan"]),
                                             (["app-reader", "default"], True))),
        Row("vault token lookup", "GET", "auth/token/lookup-self", None,
            "command/token_lookup.go (no argument), api/auth_token.go LookupSelf", reads=TOKEN_LOOKUP_READS),
        Row("vault token lookup TOKEN", "POST", "auth/token/lookup", '{"token":"{token}"}',
            "command/token_lookup.go, api/auth_token.go Lookup", reads=TOKEN_LOOKUP_READS + [("data.period", NUM)]),
        Row("vault token lookup -accessor ACCESSOR", "POST", "auth/token/lookup-accessor", '{"accessor":"{accessor}"}',
            "command/token_lookup.go, api/auth_token.go LookupAccessor", reads=TOKEN_LOOKUP_READS[1:]),
        Row("vault token renew TOKEN", "PUT", "auth/token/renew", '{"increment":0,"token":"{token}"}',
            "command/token_renew.go (increment default 0), api/auth_token.go Renew", reads=AUTH_READS),
        Row("VAULT_TOKEN=TOKEN vault token renew (self)", "PUT", "auth/token/renew-self", '{"increment":0}',
            "command/token_renew.go, api/auth_token.go RenewSelf", reads=AUTH_READS[1:], token="token",
            check=lambda t, b: t.assertEqual(b["auth"]["lease_duration"], 86400)),
        Row("vault token capabilities database/creds/app", "POST", "sys/capabilities-self",
            '{"path":"database/creds/app","token":"{root}"}',
            "command/token_capabilities.go, api/sys_capabilities.go Capabilities (token == own -> -self)",
            reads=[("data.capabilities", LIST)], check=lambda t, b: t.assertEqual(b["data"]["capabilities"], ["root"])),
        Row("vault token capabilities TOKEN database/creds/app", "POST", "sys/capabilities",
            '{"path":"database/creds/app","token":"{token}"}',
            "command/token_capabilities.go, api/sys_capabilities.go Capabilities", reads=[("data.capabilities", LIST)],
            check=lambda t, b: t.assertEqual(b["data"]["capabilities"], ["read"])),
        Row("vault token revoke TOKEN", "PUT", "auth/token/revoke", '{"token":"{token}"}',
            "command/token_revoke.go, api/auth_token.go RevokeTree", status=204),
        Row("vault token lookup TOKEN (revoked)", "POST", "auth/token/lookup", '{"token":"{token}"}',
            "command/token_lookup.go, api/auth_token.go Lookup", status=403,
            check=lambda t, b: t.assertEqual(b, {"errors": ["bad token"]})),
        Row("vault policy delete app-reader", "DELETE", "sys/policies/acl/app-reader", None,
            "command/policy_delete.go, api/sys_policy.go DeletePolicy", status=204),
        Row("vault delete database/roles/app", "DELETE", "database/roles/app", None,
            "command/delete.go, api/logical.go Delete", status=204),
        *operator_rows(),
        Row("vault operator seal", "PUT", "sys/seal", None, "command/operator_seal.go, api/sys_seal.go Seal", status=204),
        Row("vault status (sealed)", "GET", "sys/seal-status", None, "command/status.go, api/sys_seal.go SealStatus",
            reads=SEAL_STATUS_READS, token=False, check=lambda t, b: t.assertTrue(b["sealed"])),
        Row("vault operator unseal NEW-KEY (1 of 2)", "PUT", "sys/unseal", '{"key":"{new0}"}',
            "command/operator_unseal.go, api/sys_seal.go Unseal", reads=SEAL_STATUS_READS, token=False,
            check=lambda t, b: t.assertEqual((b["sealed"], b["t"], b["n"]), (True, 2, 3))),
        Row("vault operator unseal NEW-KEY (2 of 2)", "PUT", "sys/unseal", '{"key":"{new1}"}',
            "command/operator_unseal.go, api/sys_seal.go Unseal", reads=SEAL_STATUS_READS, token=False,
            check=lambda t, b: t.assertFalse(b["sealed"])),
    ]


GEN_ROOT_READS = [("nonce", STR), ("started", BOOL), ("progress", NUM), ("required", NUM), ("complete", BOOL),
                  ("encoded_token", STR), ("encoded_root_token", STR), ("pgp_fingerprint", STR), ("otp", STR),
                  ("otp_length", NUM)]
REKEY_STATUS_READS = [("nonce", STR), ("started", BOOL), ("t", NUM), ("n", NUM), ("progress", NUM),
                      ("required", NUM), ("backup", BOOL), ("verification_required", BOOL)]
REKEY_INIT_BODY = ('{"secret_shares":3,"secret_threshold":2,"stored_shares":0,"pgp_keys":null,"Backup":false,'
                   '"require_verification":false}')
GEN_ROOT_SOURCE = "command/operator_generate_root.go, api/sys_generate_root.go"
REKEY_SOURCE = "command/operator_rekey.go, api/sys_rekey.go"


def operator_rows():
    """vault operator generate-root and vault operator rekey (5/3 -> 3/2), with the unseal keys of init.
    Each `vault operator generate-root KEY` and `rekey KEY` asks the status first (provide())."""
    gen_update = lambda n, key: Row(  # noqa: E731
        f"vault operator generate-root -nonce=NONCE KEY ({n} of 3)", "PUT", "sys/generate-root/update",
        '{"key":"{' + key + '}","nonce":"{gen_nonce}"}', GEN_ROOT_SOURCE + " GenerateRootUpdate (map: keys sorted)",
        reads=GEN_ROOT_READS, token=False, save="gen_token" if n == 3 else None,
        check=lambda t, b: t.assertEqual((b["progress"], b["complete"]), (n, n == 3)))
    rekey_update = lambda n, key: Row(  # noqa: E731
        f"vault operator rekey -nonce=NONCE KEY ({n} of 3)", "PUT", "sys/rekey/update",
        '{"key":"{' + key + '}","nonce":"{rekey_nonce}"}', REKEY_SOURCE + " RekeyUpdate (map: keys sorted)",
        # Below the threshold Vault answers the status (http/sys_rekey.go): "complete" absent is Go's false.
        reads=[("nonce", STR), ("complete", BOOL), ("keys", LIST), ("keys_base64", LIST), ("backup", BOOL),
               ("verification_required", BOOL)] if n == 3 else REKEY_STATUS_READS,
        token=False, save="rekeyed" if n == 3 else None,
        check=lambda t, b: t.assertEqual(b.get("complete", False), n == 3))
    gen_status = Row("vault operator generate-root -status (also first in -decode, -generate-otp and KEY)", "GET",
                     "sys/generate-root/attempt", None, GEN_ROOT_SOURCE + " GenerateRootStatus", reads=GEN_ROOT_READS,
                     token=False, check=lambda t, b: t.assertEqual((b["otp_length"], b["required"]), (28, 3)))
    rekey_status = Row("vault operator rekey -status (also first in KEY)", "GET", "sys/rekey/init", None,
                       REKEY_SOURCE + " RekeyStatus", reads=REKEY_STATUS_READS, token=False)
    return [
        gen_status,
        Row("vault operator generate-root -init", "PUT", "sys/generate-root/attempt", '{"otp":"","pgp_key":""}',
            GEN_ROOT_SOURCE + " GenerateRootInit (map: keys sorted; the server makes the OTP)",
            reads=GEN_ROOT_READS, token=False, save="gen",
            check=lambda t, b: t.assertEqual((b["started"], len(b["otp"])), (True, 28))),
        gen_status, gen_update(1, "key0"), gen_update(2, "key1"), gen_update(3, "key2"),
        Row("vault operator generate-root -decode=ENCODED -otp=OTP (its status read)", "GET",
            "sys/generate-root/attempt", None, GEN_ROOT_SOURCE + " decode (otp_length > 0: RawStdEncoding, XOR)",
            reads=GEN_ROOT_READS, token=False, check=lambda t, b: t.assertFalse(b["started"])),
        Row("VAULT_TOKEN=DECODED vault token lookup", "GET", "auth/token/lookup-self", None,
            "command/token_lookup.go, api/auth_token.go LookupSelf", reads=TOKEN_LOOKUP_READS, token="gen_token",
            check=lambda t, b: t.assertEqual(b["data"]["policies"], ["root"])),
        Row("vault operator generate-root -cancel", "DELETE", "sys/generate-root/attempt", None,
            GEN_ROOT_SOURCE + " GenerateRootCancel", status=204, token=False),
        Row("vault operator generate-root -init -pgp-key=FILE (refused)", "PUT", "sys/generate-root/attempt",
            '{"otp":"","pgp_key":"mQENBFXbjPUBCADjNjCUQwfxKL"}', GEN_ROOT_SOURCE + " GenerateRootInit", status=400,
            token=False, check=lambda t, b: t.assertIn("PGP-encrypted root tokens are not supported", b["errors"][0])),
        Row("vault operator rekey -init -key-shares=3 -key-threshold=2", "PUT", "sys/rekey/init", REKEY_INIT_BODY,
            REKEY_SOURCE + " RekeyInit (RekeyInitRequest: Backup has no json tag)", reads=REKEY_STATUS_READS,
            save="rekey", check=lambda t, b: t.assertEqual((b["started"], b["n"], b["t"], b["required"]), (True, 3, 2, 3))),
        rekey_status,
        Row("vault operator rekey -cancel", "DELETE", "sys/rekey/init", None, REKEY_SOURCE + " RekeyCancel", status=204),
        Row("vault operator rekey -init -pgp-keys=FILE (refused)", "PUT", "sys/rekey/init",
            REKEY_INIT_BODY.replace('"pgp_keys":null', '"pgp_keys":["mQENBFXbjPUBCADjNjCUQwfxKL"]'),
            REKEY_SOURCE + " RekeyInit", status=400,
            check=lambda t, b: t.assertIn("PGP-encrypted unseal keys are not supported", b["errors"][0])),
        Row("vault operator rekey -init -key-shares=3 -key-threshold=2 (again)", "PUT", "sys/rekey/init",
            REKEY_INIT_BODY, REKEY_SOURCE + " RekeyInit", reads=REKEY_STATUS_READS, save="rekey"),
        Row("vault operator rekey -nonce=WRONG KEY (refused)", "PUT", "sys/rekey/update",
            '{"key":"{key0}","nonce":"not-the-nonce"}', REKEY_SOURCE + " RekeyUpdate", status=400, token=False),
        rekey_status, rekey_update(1, "key0"), rekey_update(2, "key1"), rekey_update(3, "key2"),
        Row("vault operator rekey -status (done)", "GET", "sys/rekey/init", None, REKEY_SOURCE + " RekeyStatus",
            reads=REKEY_STATUS_READS, token=False,
            check=lambda t, b: t.assertEqual((b["started"], b["required"]), (False, 2))),
    ]


def decode_root_token(encoded, otp):
    """command/operator_generate_root.go decode: base64.RawStdEncoding, then XOR with the OTP."""
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return bytes(a ^ b for a, b in zip(raw, otp.encode())).decode()


def field(body, dotted):
    """body["a"]["b/"]["c"] for "a.b/.c" (mount paths end in '/', so '.' splits)."""
    node = body
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def record(*values):
    with open(os.environ["CREDBROKER_CLIENT_SECRETS"], "a") as f:
        for v in values:
            f.write(v + "\n")


class VaultCliRequests(unittest.TestCase):
    def setUp(self):
        record(PG["password"])
        self.admin, self.admin_password = "cli_admin_" + secrets.token_hex(4), secrets.token_hex(16)
        record(self.admin_password)
        conn = psycopg2.connect(host=PG["host"], port=PG["port"], dbname=PG["database"], user=PG["user"],
                                password=PG["password"], connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as c:
            c.execute(f'CREATE ROLE "{self.admin}" WITH LOGIN CREATEROLE PASSWORD \'{self.admin_password}\'')
        conn.close()
        self.addCleanup(self.drop_admin)

    def drop_admin(self):
        conn = psycopg2.connect(host=PG["host"], port=PG["port"], dbname=PG["database"], user=PG["user"],
                                password=PG["password"], connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as c:
            c.execute(f'DROP ROLE IF EXISTS "{self.admin}"')
        conn.close()

    def send(self, method, path, body, token, extra=None):
        conn = http.client.HTTPConnection(ADDR.hostname, ADDR.port, timeout=30)
        headers = {**GO_HEADERS, **(extra or {})}
        if token:
            headers["X-Vault-Token"] = token
        conn.putrequest(method, "/v1/" + path, skip_host=False, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        data = None if body is None else body.encode()
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        return resp.status, json.loads(raw) if raw else None

    def test_cli_requests_in_order(self):
        url = f"postgresql://{{{{username}}}}:{{{{password}}}}@{PG['host']}:{PG['port']}/{PG['database']}"
        state = {}
        for row in rows(url, self.admin, self.admin_password):
            with self.subTest(row.cmd, source=row.source):
                path, body = row.path, row.body
                for k, v in state.items():
                    path = path.replace("{" + k + "}", v)
                    if body is not None:
                        body = body.replace("{" + k + "}", v)
                token = state.get(row.token if isinstance(row.token, str) else "root") if row.token else None
                status, answer = self.send(row.method, path, body, token, row.headers)
                self.assertEqual(status, row.status, f"{row.cmd}: {answer}")
                for name, kind in row.reads:
                    try:
                        value = field(answer, name)
                    except KeyError:
                        self.fail(f"{row.cmd}: the CLI reads {name}, which the answer lacks: {answer}")
                    self.assertIsInstance(value, kind, f"{row.cmd}: {name} = {value!r}")
                if row.check:
                    row.check(self, answer)
                if row.save == "init":
                    record(answer["root_token"], *answer["keys"], *answer["keys_base64"])
                    state.update(root=answer["root_token"], key0=answer["keys"][0], key1=answer["keys_base64"][1],
                                 key2=answer["keys"][2])
                elif row.save == "lease":
                    record(answer["data"]["password"])
                    state["lease"] = answer["lease_id"]
                elif row.save == "gen":
                    record(answer["otp"])
                    state.update(gen_nonce=answer["nonce"], otp=answer["otp"])
                elif row.save == "gen_token":
                    self.assertNotIn("=", answer["encoded_token"])
                    state["gen_token"] = decode_root_token(answer["encoded_token"], state["otp"])
                    record(state["gen_token"])
                elif row.save == "rekey":
                    state["rekey_nonce"] = answer["nonce"]
                elif row.save == "rekeyed":
                    record(*answer["keys"], *answer["keys_base64"])
                    state.update(new0=answer["keys"][0], new1=answer["keys_base64"][2])
                elif row.save == "wrap":
                    record(answer["wrap_info"]["token"])
                    state["wrap"] = answer["wrap_info"]["token"]
                elif row.save == "token":
                    record(answer["auth"]["client_token"])
                    state.update(token=answer["auth"]["client_token"], accessor=answer["auth"]["accessor"])
            if status != row.status:
                break  # the rows after depend on this one


if __name__ == "__main__":
    unittest.main()
