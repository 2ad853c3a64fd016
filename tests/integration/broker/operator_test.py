"""sys/generate-root and sys/rekey on the real binary (SQLite storage, the unseal key file of
support/broker.py): a root token regenerated from the unseal keys works and decodes as
`vault operator generate-root -decode` decodes it; a rekey hands out new shares that unseal after a
restart while the old ones no longer do; cancel; a wrong nonce and PGP keys are 400s; and a SIGKILL
at every step of the rekey commit leaves a server that starts and unseals by itself from its key file
(never a store that neither the old nor the new keys open)."""
import base64
import os
import secrets
import json
import string
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from broker import Broker  # noqa: E402

REKEY_CRASH_POINTS = ["rekey:after-shares-checked", "rekey:after-key-file-staged", "rekey:after-commit",
                      "rekey:after-key-file-promoted"]


def decode_root_token(encoded, otp):
    """What command/operator_generate_root.go decode does for otp_length > 0: RawStdEncoding, XOR."""
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    assert "=" not in encoded, encoded
    return bytes(a ^ b for a, b in zip(raw, otp.encode())).decode()


def call(b, method, path, body=None, token=None):
    """Raw HTTP to broker `b`, with X-Vault-Token only when `token` is given: (status, JSON or None)."""
    r = b.session.request(method, f"{b.addr}/v1/{path}", json=body, timeout=120,
                          headers={"X-Vault-Token": token} if token else {})
    return r.status_code, (r.json() if r.content else None)


def read_keys(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


class OperatorEndpoints(unittest.TestCase):
    def setUp(self):
        self.b = Broker()
        self.b.start()
        self.addCleanup(self.b.destroy)
        self.key = read_keys(self.b.key_file)[0]

    def call(self, method, path, body=None, token=None):
        return call(self.b, method, path, body, token)

    def unseal_with(self, keys):
        """Seals (root token) when unsealed, then unseals with `keys`; True when the server opened."""
        if not self.call("GET", "sys/seal-status")[1]["sealed"]:
            self.assertEqual(self.call("PUT", "sys/seal", token=self.b.root_token)[0], 204)
        for k in keys:
            st, body = self.call("PUT", "sys/unseal", {"key": k})
            if st != 200:
                self.call("PUT", "sys/unseal", {"reset": True})
                return False
            if not body["sealed"]:
                return True
        self.call("PUT", "sys/unseal", {"reset": True})
        return False

    def rekey(self, shares, threshold, old_keys):
        st, init = self.call("PUT", "sys/rekey/init", {"secret_shares": shares, "secret_threshold": threshold,
                                                       "stored_shares": 0, "pgp_keys": None, "Backup": False,
                                                       "require_verification": False})
        self.assertEqual(st, 200, init)
        done = None
        for k in old_keys:
            st, done = self.call("PUT", "sys/rekey/update", {"key": k, "nonce": init["nonce"]})
            self.assertEqual(st, 200, done)
        return init["nonce"], done

    def test_generate_root_with_the_unseal_key_gives_a_working_root_token(self):
        st, status = self.call("GET", "sys/generate-root/attempt")
        self.assertEqual((st, status["started"], status["required"], status["otp_length"]), (200, False, 1, 28))
        # `vault operator generate-root -init` (no -otp): the server makes the OTP and shows it once.
        st, started = self.call("PUT", "sys/generate-root/attempt", {"otp": "", "pgp_key": ""})
        self.assertEqual(st, 200, started)
        otp = started["otp"]
        self.assertEqual(len(otp), 28)
        self.assertTrue(set(otp) <= set(string.ascii_letters + string.digits), otp)
        self.assertEqual(self.call("GET", "sys/generate-root/attempt")[1]["otp"], "")
        # A wrong nonce: 400 naming the right one; the attempt stays.
        st, body = self.call("PUT", "sys/generate-root/update", {"key": self.key, "nonce": "nope"})
        self.assertEqual((st, body), (400, {"errors": [
            f"incorrect nonce supplied; nonce for this root generation operation is \"{started['nonce']}\""]}))
        st, done = self.call("PUT", "sys/generate-root/update", {"key": self.key, "nonce": started["nonce"]})
        self.assertEqual(st, 200, done)
        self.assertTrue(done["complete"])
        self.assertEqual(done["encoded_token"], done["encoded_root_token"])
        token = decode_root_token(done["encoded_token"], otp)
        self.assertTrue(token.startswith("hvs.") and len(token) == 28, "not a root token")
        self.assertNotEqual(token, self.b.root_token)
        st, me = self.call("GET", "auth/token/lookup-self", token=token)
        self.assertEqual((st, me["data"]["policies"]), (200, ["root"]))
        # It can do what only root can: write a policy, and it survives a restart.
        self.assertEqual(self.call("PUT", "sys/policies/acl/p", {"policy": 'path "x" { capabilities = ["read"] }'},
                                   token=token)[0], 204)
        self.b.stop()
        self.b.start()
        self.assertEqual(self.call("GET", "auth/token/lookup-self", token=token)[0], 200)
        # The token never reaches the log, nor does the OTP.
        logs = self.b.all_logs()
        self.assertNotIn(token, logs)
        self.assertNotIn(otp, logs)

    def test_generate_root_refusals(self):
        pgp = "mQENBFXbjPUBCADjNjCUQwfxKL+RR2GA6pv/1K+zJZ8UWIF9S0lk7cVIEfJiprzzwiMwBS5cD0da"
        st, body = self.call("PUT", "sys/generate-root/attempt", {"otp": "", "pgp_key": pgp})
        self.assertEqual(st, 400)
        self.assertIn("PGP-encrypted root tokens are not supported", body["errors"][0])
        self.assertFalse(self.call("GET", "sys/generate-root/attempt")[1]["started"])
        st, body = self.call("PUT", "sys/generate-root/attempt", {"otp": "short"})
        self.assertEqual((st, body), (400, {"errors": ["OTP string is wrong length"]}))
        # A chosen OTP of the right length, then cancel (`vault operator generate-root -cancel`).
        otp = "".join(secrets.choice(string.ascii_letters) for _ in range(28))
        st, started = self.call("PUT", "sys/generate-root/attempt", {"otp": otp, "pgp_key": ""})
        self.assertEqual((st, started["otp"], started["started"]), (200, "", True))
        self.assertEqual(self.call("DELETE", "sys/generate-root/attempt")[0], 204)
        self.assertFalse(self.call("GET", "sys/generate-root/attempt")[1]["started"])
        st, body = self.call("PUT", "sys/generate-root/update", {"key": self.key, "nonce": started["nonce"]})
        self.assertEqual((st, body), (400, {"errors": ["no root generation in progress"]}))

    def test_rekey_new_shares_unseal_after_a_restart_and_the_old_one_does_not(self):
        nonce, done = self.rekey(5, 3, [self.key])
        self.assertTrue(done["complete"], done)
        self.assertEqual(done["nonce"], nonce)
        self.assertEqual((len(done["keys"]), len(done["keys_base64"])), (5, 5))
        st, status = self.call("GET", "sys/seal-status")
        self.assertEqual((status["n"], status["t"]), (5, 3))
        # The key file now holds 3 of the new shares (the server keeps it up to date).
        on_file = read_keys(self.b.key_file)
        self.assertEqual(on_file, done["keys"][:3])
        self.assertFalse(os.path.exists(self.b.key_file + ".rekey"))
        # A restart auto-unseals with them.
        self.b.stop()
        self.b.start()
        self.assertFalse(self.call("GET", "sys/seal-status")[1]["sealed"])
        # By hand: the old key no longer opens the store; any 3 of the new ones do.
        self.assertFalse(self.unseal_with([self.key]))
        self.assertFalse(self.unseal_with(done["keys"][:2]))
        self.assertTrue(self.unseal_with([done["keys_base64"][4], done["keys"][1], done["keys_base64"][2]]))
        self.assertEqual(self.call("GET", "auth/token/lookup-self", token=self.b.root_token)[0], 200)
        logs = self.b.all_logs()
        for k in done["keys"] + done["keys_base64"]:
            self.assertNotIn(k, logs)

    def test_rekey_cancel_wrong_nonce_and_pgp(self):
        st, body = self.call("PUT", "sys/rekey/init", {"secret_shares": 3, "secret_threshold": 2,
                                                       "pgp_keys": ["mQENBFXbjPUBCADjNjCUQwfxKL"]})
        self.assertEqual(st, 400)
        self.assertIn("PGP-encrypted unseal keys are not supported", body["errors"][0])
        st, body = self.call("PUT", "sys/rekey/init", {"secret_shares": 3, "secret_threshold": 4})
        self.assertEqual((st, body), (400, {"errors": [
            "invalid rekey seal configuration: threshold cannot be larger than shares"]}))
        st, init = self.call("PUT", "sys/rekey/init", {"secret_shares": 3, "secret_threshold": 2})
        self.assertEqual(st, 200, init)
        st, body = self.call("PUT", "sys/rekey/update", {"key": self.key, "nonce": "nope"})
        self.assertEqual((st, body), (400, {"errors": [
            f"incorrect nonce supplied; nonce for this rekey operation is \"{init['nonce']}\""]}))
        # `vault operator rekey -cancel` (a root token), then the attempt is gone and nothing changed.
        self.assertEqual(self.call("DELETE", "sys/rekey/init", token=self.b.root_token)[0], 204)
        self.assertFalse(self.call("GET", "sys/rekey/init")[1]["started"])
        st, body = self.call("PUT", "sys/rekey/update", {"key": self.key, "nonce": init["nonce"]})
        self.assertEqual((st, body), (400, {"errors": ["no barrier rekey in progress"]}))
        # Without a token, a young attempt is cancelled only with its nonce.
        st, init = self.call("PUT", "sys/rekey/init", {"secret_shares": 3, "secret_threshold": 2})
        self.assertEqual(self.call("DELETE", "sys/rekey/init")[0], 400)
        self.assertEqual(self.call("DELETE", "sys/rekey/init", {"nonce": init["nonce"]})[0], 204)
        self.assertEqual(read_keys(self.b.key_file), [self.key])
        self.assertTrue(self.unseal_with([self.key]))


    def cli(self, *args, stdin=None):
        """The credbroker binary's own client (no token in the environment)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        env.update(VAULT_ADDR=self.b.addr, HOME=self.b.dir)
        r = subprocess.run([os.environ["CREDBROKER_BIN"], *args], capture_output=True, text=True, input=stdin,
                           env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_the_credbroker_cli_generates_a_root_token_and_rekeys(self):
        started = json.loads(self.cli("operator", "generate-root", "-init", "-format=json"))
        self.assertEqual(len(started["otp"]), 28)
        done = json.loads(self.cli("operator", "generate-root", "-format=json", f"-nonce={started['nonce']}", "-",
                                   stdin=self.key + "\n"))
        self.assertTrue(done["complete"], done)
        token = self.cli("operator", "generate-root", f"-decode={done['encoded_token']}", f"-otp={started['otp']}")
        self.assertEqual(token, decode_root_token(done["encoded_token"], started["otp"]))
        self.assertEqual(self.call("GET", "auth/token/lookup-self", token=token)[1]["data"]["policies"], ["root"])

        init = json.loads(self.cli("operator", "rekey", "-init", "-key-shares=3", "-key-threshold=2", "-format=json"))
        self.assertEqual((init["n"], init["t"]), (3, 2))
        out = self.cli("operator", "rekey", f"-nonce={init['nonce']}", self.key)
        new = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("Key ")]
        self.assertEqual(len(new), 3, out)
        self.assertIn("the previous keys no longer unseal", out)
        self.assertFalse(self.unseal_with([self.key]))
        self.assertTrue(self.unseal_with(new[1:]))
        self.assertIn("Usage: credbroker operator rekey", self.cli("operator", "rekey", "-h"))


class RekeyCrash(unittest.TestCase):
    """SIGKILL at each step of seal_manager::commit_rekey: the next start unseals by itself, with the
    old key when the store had not switched yet, else with the new ones; the key file then holds keys
    that open the store, and exactly one of the old key and the new shares works by hand."""

    def test_sigkill_at_every_rekey_step_keeps_the_store_openable(self):
        for point in REKEY_CRASH_POINTS:
            with self.subTest(point):
                b = Broker()
                try:
                    b.start()
                    old = read_keys(b.key_file)
                    b.stop()
                    b.start(env={"CREDBROKER_CRASH_AT": point})
                    st, init = call(b, "PUT", "sys/rekey/init", {"secret_shares": 3, "secret_threshold": 2})
                    self.assertEqual(st, 200, init)
                    try:
                        call(b, "PUT", "sys/rekey/update", {"key": old[0], "nonce": init["nonce"]})
                    except Exception:  # the server died under the request: the point was hit
                        pass
                    self.assertEqual(b.wait_dead(), -9, f"{point} was not reached")
                    b.start()  # raises unless the server starts and unseals by itself
                    committed = point in ("rekey:after-commit", "rekey:after-key-file-promoted")
                    st, status = call(b, "GET", "sys/seal-status")
                    self.assertEqual((status["sealed"], status["n"], status["t"]),
                                     (False, 3, 2) if committed else (False, 1, 1))
                    on_file = read_keys(b.key_file)
                    self.assertFalse(os.path.exists(b.key_file + ".rekey"))
                    if committed:
                        self.assertEqual(len(on_file), 2)
                        self.assertNotIn(old[0], on_file)
                    else:
                        self.assertEqual(on_file, old)
                    # By hand: seal, the old key opens the store only if the rekey did not commit.
                    self.assertEqual(call(b, "PUT", "sys/seal", token=b.root_token)[0], 204)
                    st, body = call(b, "PUT", "sys/unseal", {"key": old[0]})
                    self.assertEqual(st == 200 and not body["sealed"], not committed, body)
                    call(b, "PUT", "sys/unseal", {"reset": True})
                    if committed:
                        for k in on_file:
                            st, body = call(b, "PUT", "sys/unseal", {"key": k})
                            self.assertEqual(st, 200, body)
                        self.assertFalse(body["sealed"])
                finally:
                    b.destroy()


if __name__ == "__main__":
    unittest.main()
