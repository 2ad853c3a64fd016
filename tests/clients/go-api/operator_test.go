package goapi

// generate-root and rekey through the Go client's own Sys() methods (lifecycle_test.go runs them as
// a step before the final seal): a root token regenerated from the unseal keys works once decoded as
// `vault operator generate-root -decode` does, and a rekey's new keys replace l.keys (the seal step
// then unseals with them).

import (
	"encoding/base64"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// What `vault operator rekey -init -key-shares=4 -key-threshold=2` sends (api.RekeyInitRequest).
var vaultRekeyInit = vault.RekeyInitRequest{SecretShares: 4, SecretThreshold: 2}

// decodeRootToken is command/operator_generate_root.go's decode for otp_length > 0.
func decodeRootToken(t *testing.T, encoded, otp string) string {
	raw, err := base64.RawStdEncoding.DecodeString(encoded)
	mustOK(t, "decode base64 token", err)
	if len(raw) != len(otp) {
		t.Fatalf("encoded token of %d bytes for an OTP of %d", len(raw), len(otp))
	}
	for i := range raw {
		raw[i] ^= otp[i]
	}
	return string(raw)
}

func (l *lifecycle) generateRootAndRekey(t *testing.T) {
	sys := l.c.Sys()
	st, err := sys.GenerateRootStatus()
	mustOK(t, "generate-root status", err)
	if st.Started || st.OTPLength != 28 || st.Required != 2 {
		t.Fatalf("generate-root status: %+v", st)
	}
	started, err := sys.GenerateRootInit("", "")
	mustOK(t, "generate-root init", err)
	if len(started.OTP) != 28 || started.Nonce == "" {
		t.Fatalf("generate-root init: OTP of %d characters, nonce %q", len(started.OTP), started.Nonce)
	}
	record(t, started.OTP)
	if _, err := sys.GenerateRootUpdate(l.keys[1], "not-the-nonce"); status(err) != 400 {
		t.Fatalf("a wrong nonce: want 400, got %v", err)
	}
	if _, err := sys.GenerateRootUpdate(l.keys[0], started.Nonce); err != nil {
		t.Fatalf("generate-root update 1: %v", err)
	}
	done, err := sys.GenerateRootUpdate(l.keys[1], started.Nonce)
	mustOK(t, "generate-root update 2", err)
	if !done.Complete || done.EncodedToken == "" {
		t.Fatalf("generate-root not complete at the threshold: %+v", done)
	}
	token := decodeRootToken(t, done.EncodedToken, started.OTP)
	record(t, token)
	clone, err := l.c.Clone()
	mustOK(t, "clone", err)
	clone.SetToken(token)
	self, err := clone.Auth().Token().LookupSelf()
	mustOK(t, "lookup-self with the generated root token", err)
	if p, _ := self.TokenPolicies(); !contains(p, "root") {
		t.Fatalf("generated token policies: %v", p)
	}

	// Rekey 3/2 -> 4/2, a cancel first (root token), then the real one.
	_, err = sys.RekeyInit(&vaultRekeyInit)
	mustOK(t, "rekey init", err)
	mustOK(t, "rekey cancel", sys.RekeyCancel())
	rs, err := sys.RekeyStatus()
	mustOK(t, "rekey status", err)
	if rs.Started {
		t.Fatalf("rekey still started after cancel: %+v", rs)
	}
	rs, err = sys.RekeyInit(&vaultRekeyInit)
	mustOK(t, "rekey init", err)
	if !rs.Started || rs.N != 4 || rs.T != 2 || rs.Required != 2 {
		t.Fatalf("rekey init: %+v", rs)
	}
	if _, err := sys.RekeyUpdate(l.keys[0], rs.Nonce); err != nil {
		t.Fatalf("rekey update 1: %v", err)
	}
	up, err := sys.RekeyUpdate(l.keys[2], rs.Nonce)
	mustOK(t, "rekey update 2", err)
	if !up.Complete || len(up.Keys) != 4 || len(up.KeysB64) != 4 {
		t.Fatalf("rekey update at the threshold: complete %v, %d keys", up.Complete, len(up.Keys))
	}
	record(t, append(append([]string{}, up.Keys...), up.KeysB64...)...)
	seal, err := sys.SealStatus()
	mustOK(t, "seal-status", err)
	if seal.N != 4 || seal.T != 2 {
		t.Fatalf("seal-status after rekey: n %d t %d", seal.N, seal.T)
	}
	l.keys = up.Keys
	l.shares = 4
}
