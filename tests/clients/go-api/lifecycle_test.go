package goapi

// The whole lifecycle of tests/clients/README.md driven by github.com/hashicorp/vault/api — the
// library the vault CLI, Vault Agent, External Secrets Operator and Terraform's provider are built
// on — through its own methods wherever it has one, against a fresh uninitialised credbroker
// (run_client.py starts it) and the real PostgreSQL and Redis of scripts/test-servers.sh.
// The steps run in order; the first failure stops the rest.

import (
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

type lifecycle struct {
	c        *vault.Client
	srv      servers
	keys     []string
	root     string
	suffix   string // makes this run's database accounts unique on shared servers
	pgAdmin  string
	pgPass   string
	rdAdmin  string
	rdPass   string
	appToken string
}

func TestLifecycle(t *testing.T) {
	cfg := vault.DefaultConfig() // VAULT_ADDR from run_client.py
	mustOK(t, "config", cfg.Error)
	cfg.MaxRetries = 0
	c, err := vault.NewClient(cfg)
	mustOK(t, "client", err)
	c.ClearToken()
	l := &lifecycle{c: c, srv: testServers(t), suffix: randomHex(t, 4)}
	defer l.cleanup(t)

	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"seal-status, init, unseal, leader", l.initAndUnseal},
		{"mount, tune keeps the other TTL, read the mount", l.mount},
		{"connection configs (unknown key warned)", l.configs},
		{"roles, creds and real logins", l.creds},
		{"renew, revoke, revoke-prefix", l.renewRevoke},
		{"lifetime watcher renews until max TTL", l.lifetimeWatcher},
		{"rotate-root (PostgreSQL and Redis)", l.rotateRoot},
		{"static roles (rotation, skip_import_rotation)", l.staticRoles},
		{"policies and capabilities", l.policies},
		{"token create with policies and period, lookup, revoke", l.tokens},
		{"AppRole login and auth tune", l.approle},
		{"remount", l.remount},
		{"seal", l.seal},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.FailNow()
		}
	}
}

func (l *lifecycle) initAndUnseal(t *testing.T) {
	st, err := l.c.Sys().SealStatus()
	mustOK(t, "seal-status", err)
	if st.Initialized || !st.Sealed {
		t.Fatalf("a fresh server: want uninitialised and sealed, got %+v", st)
	}
	inited, err := l.c.Sys().InitStatus()
	mustOK(t, "init status", err)
	if inited {
		t.Fatal("InitStatus: true on a fresh server")
	}
	// Sys().Init sends "pgp_keys":null and "root_token_pgp_key":"" as the vault CLI does.
	resp, err := l.c.Sys().Init(&vault.InitRequest{SecretShares: 3, SecretThreshold: 2})
	mustOK(t, "init", err)
	if len(resp.Keys) != 3 || len(resp.KeysB64) != 3 || resp.RootToken == "" {
		t.Fatalf("init answered %d keys, %d base64 keys", len(resp.Keys), len(resp.KeysB64))
	}
	record(t, append(append(append([]string{}, resp.Keys...), resp.KeysB64...), resp.RootToken)...)
	l.keys, l.root = resp.Keys, resp.RootToken

	l.unseal(t)
	l.c.SetToken(l.root)
	self, err := l.c.Auth().Token().LookupSelf()
	mustOK(t, "lookup-self", err)
	if p, _ := self.TokenPolicies(); !contains(p, "root") {
		t.Fatalf("root token policies: %v", p)
	}
	h, err := l.c.Sys().Health()
	mustOK(t, "health", err)
	if !h.Initialized || h.Sealed {
		t.Fatalf("health: %+v", h)
	}
}

// unseal gives the keys one by one (progress counts up) and asks sys/leader, as `vault operator
// unseal` and `vault status` do after the last key.
func (l *lifecycle) unseal(t *testing.T) {
	st, err := l.c.Sys().Unseal(l.keys[0])
	mustOK(t, "unseal 1", err)
	if !st.Sealed || st.Progress != 1 || st.T != 2 || st.N != 3 {
		t.Fatalf("after one key: %+v", st)
	}
	st, err = l.c.Sys().Unseal(l.keys[2])
	mustOK(t, "unseal 2", err)
	if st.Sealed {
		t.Fatalf("still sealed after the threshold: %+v", st)
	}
	leader, err := l.c.Sys().Leader() // unauthenticated in Vault: the token is not needed
	mustOK(t, "sys/leader", err)
	if leader.HAEnabled {
		t.Fatalf("sys/leader: ha_enabled true without HA")
	}
}

func (l *lifecycle) mount(t *testing.T) {
	mustOK(t, "mount", l.c.Sys().Mount("database", &vault.MountInput{Type: "database", Description: "go-api",
		Config: vault.MountConfigInput{DefaultLeaseTTL: "1h", MaxLeaseTTL: "24h"}}))
	// TuneMount sends both TTLs; "" (max_lease_ttl here) keeps the value set before.
	mustOK(t, "tune", l.c.Sys().TuneMount("database", vault.MountConfigInput{DefaultLeaseTTL: "2h"}))
	mc, err := l.c.Sys().MountConfig("database")
	mustOK(t, "read tune", err)
	if mc.DefaultLeaseTTL != 7200 || mc.MaxLeaseTTL != 86400 {
		t.Fatalf("after tuning the default TTL: default %d max %d, want 7200 86400", mc.DefaultLeaseTTL, mc.MaxLeaseTTL)
	}
	// "system" resets a TTL to the server's.
	sys := "system"
	mustOK(t, "tune system", l.c.Sys().TuneMountAllowNil("database", vault.TuneMountConfigInput{DefaultLeaseTTL: &sys}))
	mc, err = l.c.Sys().MountConfig("database")
	mustOK(t, "read tune", err)
	if mc.MaxLeaseTTL != 86400 || mc.DefaultLeaseTTL == 7200 {
		t.Fatalf("after default_lease_ttl=system: default %d max %d", mc.DefaultLeaseTTL, mc.MaxLeaseTTL)
	}
	mustOK(t, "tune back", l.c.Sys().TuneMount("database", vault.MountConfigInput{DefaultLeaseTTL: "1h"}))
	m, err := l.c.Sys().GetMount("database") // Terraform refreshes its mount resources with this
	mustOK(t, "GET sys/mounts/database", err)
	if m.Type != "database" || m.Description != "go-api" || m.Config.MaxLeaseTTL != 86400 {
		t.Fatalf("GET sys/mounts/database: %+v", m)
	}
	all, err := l.c.Sys().ListMounts()
	mustOK(t, "list mounts", err)
	if all["database/"] == nil || all["sys/"] == nil {
		t.Fatalf("mounts: %v", all)
	}
	ui, err := l.c.Logical().Read("sys/internal/ui/mounts/database/creds/app")
	mustOK(t, "sys/internal/ui/mounts/database/creds/app", err)
	if ui == nil || ui.Data["type"] != "database" || ui.Data["path"] != "database/" {
		t.Fatalf("sys/internal/ui/mounts: %v", ui)
	}
}

func (l *lifecycle) configs(t *testing.T) {
	// Connection admins of our own: rotate-root must not change the test servers' superusers.
	l.pgAdmin, l.pgPass = "goapi_admin_"+l.suffix, randomHex(t, 16)
	l.rdAdmin, l.rdPass = "goapi_admin_"+l.suffix, randomHex(t, 16)
	record(t, l.pgPass, l.rdPass)
	l.srv.pgRoot(t, `CREATE ROLE "`+l.pgAdmin+`" WITH LOGIN CREATEROLE PASSWORD '`+l.pgPass+`'`,
		`GRANT pg_read_all_data TO "`+l.pgAdmin+`" WITH ADMIN OPTION`)
	l.srv.redisRoot(t, "ACL", "SETUSER", l.rdAdmin, "on", ">"+l.rdPass, "~*", "&*", "+@all")

	w, err := l.c.Logical().Write("database/config/pg", map[string]interface{}{
		"plugin_name":       "postgresql-database-plugin",
		"connection_url":    "postgresql://{{username}}:{{password}}@" + l.srv.pgHost + ":" + l.srv.pgPort + "/" + l.srv.pgDB,
		"username":          l.pgAdmin,
		"password":          l.pgPass,
		"allowed_roles":     "app,short,capped,static-*",
		"verify_connection": true,
		"no_such_setting":   "x", // a key the plugin does not read: a warning, not a stored setting
	})
	mustOK(t, "config pg", err)
	if w == nil || len(w.Warnings) != 1 || !strings.Contains(w.Warnings[0], "no_such_setting") {
		t.Fatalf("config with an unknown key: want one warning naming it, got %v", w)
	}
	read, err := l.c.Logical().Read("database/config/pg")
	mustOK(t, "read config", err)
	details, _ := read.Data["connection_details"].(map[string]interface{})
	if details == nil || details["password"] != nil || details["no_such_setting"] != nil || details["username"] != l.pgAdmin {
		t.Fatalf("config read: connection_details %v", details)
	}
	_, err = l.c.Logical().Write("database/config/redis", map[string]interface{}{
		"plugin_name": "redis-database-plugin", "host": l.srv.redisHost, "port": l.srv.redisPort,
		"username": l.rdAdmin, "password": l.rdPass, "allowed_roles": []string{"cache"},
	})
	mustOK(t, "config redis", err)
	list, err := l.c.Logical().List("database/config")
	mustOK(t, "list configs", err)
	if keys, _ := list.Data["keys"].([]interface{}); len(keys) != 2 {
		t.Fatalf("configs: %v", list.Data)
	}
}

func (l *lifecycle) creds(t *testing.T) {
	create := []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
		`GRANT pg_read_all_data TO "{{name}}";`}
	_, err := l.c.Logical().Write("database/roles/app", map[string]interface{}{
		"db_name": "pg", "creation_statements": create, "default_ttl": "1h", "max_ttl": "24h"})
	mustOK(t, "role app", err)
	// default_ttl above max_ttl is accepted (as Vault) and the lease capped at max_ttl.
	_, err = l.c.Logical().Write("database/roles/capped", map[string]interface{}{
		"db_name": "pg", "creation_statements": create, "default_ttl": "2h", "max_ttl": "1h"})
	mustOK(t, "role capped", err)
	_, err = l.c.Logical().Write("database/roles/cache", map[string]interface{}{
		"db_name": "redis", "creation_statements": []string{`["~cache:*", "+@read", "+@write"]`}, "default_ttl": "1h"})
	mustOK(t, "role cache", err)
	roles, err := l.c.Logical().List("database/roles")
	mustOK(t, "list roles", err)
	if keys, _ := roles.Data["keys"].([]interface{}); len(keys) != 3 {
		t.Fatalf("roles: %v", roles.Data)
	}

	s := l.issue(t, "app")
	if s.LeaseDuration != 3600 || !s.Renewable || !strings.HasPrefix(s.LeaseID, "database/creds/app/") {
		t.Fatalf("creds: lease %q duration %d renewable %v", s.LeaseID, s.LeaseDuration, s.Renewable)
	}
	user, pass := s.Data["username"].(string), s.Data["password"].(string)
	who, err := l.srv.pgLogin(user, pass)
	mustOK(t, "PostgreSQL login with the credential", err)
	if who != user {
		t.Fatalf("logged in as %q, want %q", who, user)
	}
	capped := l.issue(t, "capped")
	if capped.LeaseDuration > 3600 || capped.LeaseDuration < 3590 {
		t.Fatalf("role with default_ttl 2h, max_ttl 1h: lease %d s", capped.LeaseDuration)
	}
	r := l.issue(t, "cache")
	mustOK(t, "Redis login with the credential", l.srv.redisLogin(r.Data["username"].(string), r.Data["password"].(string)))
	mustOK(t, "revoke the Redis lease", l.c.Sys().Revoke(r.LeaseID))
	if err := l.srv.redisLogin(r.Data["username"].(string), r.Data["password"].(string)); err == nil {
		t.Fatal("the Redis credential still logs in after its lease was revoked")
	}
}

// issue reads creds/<role> and records the password.
func (l *lifecycle) issue(t *testing.T, role string) *vault.Secret {
	t.Helper()
	s, err := l.c.Logical().Read("database/creds/" + role)
	mustOK(t, "creds/"+role, err)
	if s == nil || s.Data["username"] == nil || s.Data["password"] == nil {
		t.Fatalf("creds/%s: %v", role, s)
	}
	record(t, s.Data["password"].(string))
	return s
}

func (l *lifecycle) renewRevoke(t *testing.T) {
	s := l.issue(t, "app")
	user, pass := s.Data["username"].(string), s.Data["password"].(string)
	renewed, err := l.c.Sys().Renew(s.LeaseID, 600)
	mustOK(t, "renew", err)
	if renewed.LeaseID != s.LeaseID || renewed.LeaseDuration != 600 || !renewed.Renewable {
		t.Fatalf("renew: %q %d %v", renewed.LeaseID, renewed.LeaseDuration, renewed.Renewable)
	}
	look, err := l.c.Sys().Lookup(s.LeaseID)
	mustOK(t, "lease lookup", err)
	if look.Data["id"] != s.LeaseID || look.Data["last_renewal"] == nil {
		t.Fatalf("lease lookup: %v", look.Data)
	}
	mustOK(t, "revoke", l.c.Sys().Revoke(s.LeaseID))
	if _, err := l.srv.pgLogin(user, pass); err == nil {
		t.Fatal("the credential still logs in after its lease was revoked")
	}
	if l.srv.pgUserExists(t, user) {
		t.Fatalf("the revoked lease's role %s is still in PostgreSQL", user)
	}
	a, b := l.issue(t, "app"), l.issue(t, "app")
	mustOK(t, "revoke-prefix", l.c.Sys().RevokePrefix("database/creds/app"))
	for _, x := range []*vault.Secret{a, b} {
		if _, err := l.srv.pgLogin(x.Data["username"].(string), x.Data["password"].(string)); err == nil {
			t.Fatal("a credential still logs in after revoke-prefix")
		}
	}
}

// A role whose leases last 6 s and at most 18 s: the watcher renews (each renewal capped nearer max
// TTL) and reports done, without error, when the lease cannot be extended any more.
func (l *lifecycle) lifetimeWatcher(t *testing.T) {
	_, err := l.c.Logical().Write("database/roles/short", map[string]interface{}{
		"db_name": "pg", "default_ttl": 6, "max_ttl": "18s",
		"creation_statements": []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`}})
	mustOK(t, "role short", err)
	s := l.issue(t, "short")
	issued := time.Now()
	w, err := l.c.NewLifetimeWatcher(&vault.LifetimeWatcherInput{Secret: s, Increment: 6})
	mustOK(t, "lifetime watcher", err)
	go w.Start()
	defer w.Stop()
	var renewals []*vault.RenewOutput
	timeout := time.After(60 * time.Second)
	for {
		select {
		case r := <-w.RenewCh():
			renewals = append(renewals, r)
			if r.Secret.LeaseID != s.LeaseID {
				t.Fatalf("renewed lease %q, want %q", r.Secret.LeaseID, s.LeaseID)
			}
		case err := <-w.DoneCh():
			if err != nil {
				t.Fatalf("the watcher ended with an error: %v", err)
			}
			if len(renewals) < 2 {
				t.Fatalf("the watcher ended after %d renewal(s), want at least 2", len(renewals))
			}
			last := renewals[len(renewals)-1].Secret
			if last.LeaseDuration >= 6 {
				t.Fatalf("the last renewal answered %d s: not capped by max_ttl", last.LeaseDuration)
			}
			look, err := l.c.Sys().Lookup(s.LeaseID)
			mustOK(t, "lease lookup", err)
			expire, err := time.Parse(time.RFC3339Nano, look.Data["expire_time"].(string))
			mustOK(t, "expire_time", err)
			if got := expire.Sub(issued); got > 19*time.Second || got < 16*time.Second {
				t.Fatalf("the lease expires %v after issue, want its max TTL of 18s", got)
			}
			t.Logf("%d renewals; done at the max TTL", len(renewals))
			return
		case <-timeout:
			t.Fatalf("the watcher did not end within 60 s (%d renewals)", len(renewals))
		}
	}
}

func (l *lifecycle) rotateRoot(t *testing.T) {
	_, err := l.c.Logical().Write("database/rotate-root/pg", nil)
	mustOK(t, "rotate-root pg", err)
	if _, err := l.srv.pgLogin(l.pgAdmin, l.pgPass); err == nil {
		t.Fatal("the PostgreSQL admin's old password still logs in after rotate-root")
	}
	s := l.issue(t, "app") // the broker logs in with the new one
	if _, err := l.srv.pgLogin(s.Data["username"].(string), s.Data["password"].(string)); err != nil {
		t.Fatalf("creds after rotate-root: %v", err)
	}
	mustOK(t, "revoke", l.c.Sys().Revoke(s.LeaseID))
	_, err = l.c.Logical().Write("database/rotate-root/redis", nil)
	mustOK(t, "rotate-root redis", err)
	if err := l.srv.redisLogin(l.rdAdmin, l.rdPass); err == nil {
		t.Fatal("the Redis admin's old password still logs in after rotate-root")
	}
	r := l.issue(t, "cache")
	mustOK(t, "Redis creds after rotate-root", l.srv.redisLogin(r.Data["username"].(string), r.Data["password"].(string)))
	mustOK(t, "revoke", l.c.Sys().Revoke(r.LeaseID))
}

func (l *lifecycle) staticRoles(t *testing.T) {
	account, first := "goapi_static_"+l.suffix, randomHex(t, 16)
	imported, kept := "goapi_import_"+l.suffix, randomHex(t, 16)
	record(t, first, kept)
	l.srv.pgRoot(t, `CREATE ROLE "`+account+`" WITH LOGIN PASSWORD '`+first+`'`,
		`CREATE ROLE "`+imported+`" WITH LOGIN PASSWORD '`+kept+`'`,
		`GRANT "`+account+`", "`+imported+`" TO "`+l.pgAdmin+`"`)
	_, err := l.c.Logical().Write("database/static-roles/static-app", map[string]interface{}{
		"db_name": "pg", "username": account, "rotation_period": "1h"})
	mustOK(t, "static role", err)
	sc, err := l.c.Logical().Read("database/static-creds/static-app")
	mustOK(t, "static-creds", err)
	p1 := sc.Data["password"].(string)
	record(t, p1)
	if p1 == first {
		t.Fatal("creating the static role did not rotate the password")
	}
	if _, err := l.srv.pgLogin(account, p1); err != nil {
		t.Fatalf("static account login: %v", err)
	}
	_, err = l.c.Logical().Write("database/rotate-role/static-app", nil)
	mustOK(t, "rotate-role", err)
	sc, err = l.c.Logical().Read("database/static-creds/static-app")
	mustOK(t, "static-creds", err)
	p2 := sc.Data["password"].(string)
	record(t, p2)
	if _, err := l.srv.pgLogin(account, p2); err != nil {
		t.Fatalf("static account login after rotate-role: %v", err)
	}
	if _, err := l.srv.pgLogin(account, p1); err == nil {
		t.Fatal("the static account's previous password still logs in")
	}

	// skip_import_rotation: taken over as it is, its current password kept until the first rotation.
	_, err = l.c.Logical().Write("database/static-roles/static-import", map[string]interface{}{
		"db_name": "pg", "username": imported, "rotation_period": "1h", "skip_import_rotation": true, "password": kept})
	mustOK(t, "static role with skip_import_rotation", err)
	sc, err = l.c.Logical().Read("database/static-creds/static-import")
	mustOK(t, "static-creds", err)
	if sc.Data["password"] != kept {
		t.Fatal("skip_import_rotation: static-creds is not the account's current password")
	}
	if _, err := l.srv.pgLogin(imported, kept); err != nil {
		t.Fatalf("skip_import_rotation rotated the password: %v", err)
	}
	_, err = l.c.Logical().Write("database/static-roles/static-import", map[string]interface{}{"skip_import_rotation": true})
	if status(err) != 400 || !strings.Contains(err.Error(), "skip_import_rotation has no effect on updates") {
		t.Fatalf("skip_import_rotation on an update: %v", err)
	}
	statics, err := l.c.Logical().List("database/static-roles")
	mustOK(t, "list static roles", err)
	if keys, _ := statics.Data["keys"].([]interface{}); len(keys) != 2 {
		t.Fatalf("static roles: %v", statics.Data)
	}
}

const appPolicy = `path "database/creds/app" {
  capabilities = ["read"]
}
`

func (l *lifecycle) policies(t *testing.T) {
	mustOK(t, "put policy", l.c.Sys().PutPolicy("app-reader", appPolicy))
	got, err := l.c.Sys().GetPolicy("app-reader")
	mustOK(t, "get policy", err)
	if got != appPolicy {
		t.Fatalf("policy read back: %q", got)
	}
	names, err := l.c.Sys().ListPolicies()
	mustOK(t, "list policies", err)
	if !contains(names, "app-reader") || !contains(names, "default") {
		t.Fatalf("policies: %v", names)
	}
	caps, err := l.c.Sys().CapabilitiesSelf("database/creds/app")
	mustOK(t, "capabilities-self", err)
	if !contains(caps, "root") {
		t.Fatalf("root's capabilities: %v", caps)
	}
}

func (l *lifecycle) tokens(t *testing.T) {
	// The Go client always sends entity_alias "", display_name "", num_uses 0 and type "".
	s, err := l.c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"app-reader"}, Period: "24h"})
	mustOK(t, "token create", err)
	if s.Auth == nil || s.Auth.ClientToken == "" {
		t.Fatalf("token create: %v", s)
	}
	tok := s.Auth.ClientToken
	record(t, tok)
	l.appToken = tok
	if !contains(s.Auth.TokenPolicies, "app-reader") || s.Auth.LeaseDuration != 86400 || !s.Auth.Renewable {
		t.Fatalf("token create: policies %v lease %d renewable %v", s.Auth.TokenPolicies, s.Auth.LeaseDuration, s.Auth.Renewable)
	}
	look, err := l.c.Auth().Token().Lookup(tok)
	mustOK(t, "token lookup", err)
	if p, _ := look.TokenPolicies(); !contains(p, "app-reader") {
		t.Fatalf("lookup policies: %v", p)
	}
	if look.Data["period"] == nil {
		t.Fatalf("lookup of a periodic token has no period: %v", look.Data)
	}
	caps, err := l.c.Sys().Capabilities(tok, "database/creds/app")
	mustOK(t, "capabilities", err)
	if len(caps) != 1 || caps[0] != "read" {
		t.Fatalf("capabilities of app-reader on creds/app: %v", caps)
	}

	child, err := l.c.Clone()
	mustOK(t, "clone", err)
	child.SetToken(tok)
	if caps, err := child.Sys().CapabilitiesSelf("database/config/pg"); err != nil || len(caps) != 1 || caps[0] != "deny" {
		t.Fatalf("capabilities-self on config/pg: %v %v", caps, err)
	}
	self, err := l.c.Logical().Read("auth/token/lookup") // GET auth/token/lookup: the caller's own token
	mustOK(t, "GET auth/token/lookup", err)
	if p, _ := self.TokenPolicies(); !contains(p, "root") {
		t.Fatalf("GET auth/token/lookup with the root token: %v", self.Data)
	}
	renewed, err := child.Auth().Token().RenewSelf(0)
	mustOK(t, "renew-self", err)
	if renewed.Auth.LeaseDuration != 86400 {
		t.Fatalf("renew-self of a periodic token: %d", renewed.Auth.LeaseDuration)
	}
	cr := func(c *vault.Client) (*vault.Secret, error) { return c.Logical().Read("database/creds/app") }
	cs, err := cr(child)
	mustOK(t, "creds with the app-reader token", err)
	record(t, cs.Data["password"].(string))
	if _, err := l.srv.pgLogin(cs.Data["username"].(string), cs.Data["password"].(string)); err != nil {
		t.Fatalf("login with creds read by the app-reader token: %v", err)
	}
	// Denied by policy: 403 "permission denied", and not "invalid token" (Agent would re-authenticate).
	_, err = child.Logical().Read("database/config/pg")
	if status(err) != 403 || !strings.Contains(err.Error(), "permission denied") || strings.Contains(err.Error(), "invalid token") {
		t.Fatalf("a read the policy denies: %v", err)
	}

	mustOK(t, "token revoke", l.c.Auth().Token().RevokeTree(tok))
	_, err = l.c.Auth().Token().Lookup(tok)
	if status(err) != 403 || !strings.Contains(err.Error(), "bad token") {
		t.Fatalf("lookup of a revoked token: want 403 bad token, got %v", err)
	}
	_, err = cr(child)
	if status(err) != 403 || !strings.Contains(err.Error(), "invalid token") || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("a request with a revoked token: want 403 permission denied + invalid token, got %v", err)
	}
	// The token's leases are revoked after it (in the background, as Vault's RevokeByToken).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := l.srv.pgLogin(cs.Data["username"].(string), cs.Data["password"].(string)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("revoking the token left its lease's credential working for 20 s")
		}
	}
}

func (l *lifecycle) approle(t *testing.T) {
	mustOK(t, "enable approle", l.c.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}))
	// What `vault auth tune` sends; and the same as a write to sys/auth/approle/tune, which must tune,
	// never enable a method at approle/tune.
	mustOK(t, "auth tune", l.c.Sys().TuneMount("auth/approle", vault.MountConfigInput{DefaultLeaseTTL: "1h", MaxLeaseTTL: "2h"}))
	_, err := l.c.Logical().Write("sys/auth/approle/tune", map[string]interface{}{"default_lease_ttl": "30m", "max_lease_ttl": ""})
	mustOK(t, "sys/auth/approle/tune", err)
	auths, err := l.c.Sys().ListAuth()
	mustOK(t, "list auth", err)
	if auths["approle/"] == nil || auths["token/"] == nil || len(auths) != 2 {
		t.Fatalf("auth methods: %v", auths)
	}
	am, err := l.c.Sys().GetAuth("approle")
	mustOK(t, "GET sys/auth/approle", err)
	if am.Type != "approle" || am.Config.DefaultLeaseTTL != 1800 || am.Config.MaxLeaseTTL != 7200 {
		t.Fatalf("GET sys/auth/approle: %+v", am)
	}
	_, err = l.c.Logical().Write("auth/approle/role/app", map[string]interface{}{
		"token_policies": "app-reader", "token_ttl": "20m", "secret_id_num_uses": 1})
	mustOK(t, "approle role", err)
	rid, err := l.c.Logical().Read("auth/approle/role/app/role-id")
	mustOK(t, "role-id", err)
	sid, err := l.c.Logical().Write("auth/approle/role/app/secret-id", nil)
	mustOK(t, "secret-id", err)
	roleID, secretID := rid.Data["role_id"].(string), sid.Data["secret_id"].(string)
	record(t, secretID)
	login, err := l.c.Logical().Write("auth/approle/login", map[string]interface{}{"role_id": roleID, "secret_id": secretID})
	mustOK(t, "approle login", err)
	record(t, login.Auth.ClientToken)
	if !contains(login.Auth.TokenPolicies, "app-reader") || login.Auth.LeaseDuration != 1200 {
		t.Fatalf("approle login: policies %v lease %d", login.Auth.TokenPolicies, login.Auth.LeaseDuration)
	}
	app, err := l.c.Clone()
	mustOK(t, "clone", err)
	app.SetToken(login.Auth.ClientToken)
	cs, err := app.Logical().Read("database/creds/app")
	mustOK(t, "creds with the AppRole token", err)
	record(t, cs.Data["password"].(string))
	if _, err := l.srv.pgLogin(cs.Data["username"].(string), cs.Data["password"].(string)); err != nil {
		t.Fatalf("login with the AppRole token's creds: %v", err)
	}
	if _, err := l.c.Logical().Write("auth/approle/login", map[string]interface{}{"role_id": roleID, "secret_id": secretID}); err == nil {
		t.Fatal("a secret-id with one use logged in twice")
	}
}

func (l *lifecycle) remount(t *testing.T) {
	mustOK(t, "mount", l.c.Sys().Mount("scratch-db", &vault.MountInput{Type: "database"}))
	mustOK(t, "remount", l.c.Sys().Remount("scratch-db", "moved-db"))
	all, err := l.c.Sys().ListMounts()
	mustOK(t, "list mounts", err)
	if all["moved-db/"] == nil || all["scratch-db/"] != nil {
		t.Fatalf("after remount: %v", all)
	}
	mustOK(t, "unmount", l.c.Sys().Unmount("moved-db"))
	// A mount with leases is not moved (its lease ids name it).
	s := l.issue(t, "app")
	if err := l.c.Sys().Remount("database", "elsewhere"); status(err) != 400 {
		t.Fatalf("remount of a mount with leases: %v", err)
	}
	mustOK(t, "revoke", l.c.Sys().Revoke(s.LeaseID))
}

func (l *lifecycle) seal(t *testing.T) {
	mustOK(t, "revoke everything", l.c.Sys().RevokePrefix("database"))
	mustOK(t, "seal", l.c.Sys().Seal())
	st, err := l.c.Sys().SealStatus()
	mustOK(t, "seal-status", err)
	if !st.Sealed || !st.Initialized {
		t.Fatalf("after seal: %+v", st)
	}
	if _, err := l.c.Logical().Read("database/creds/app"); status(err) != 503 {
		t.Fatalf("creds while sealed: %v", err)
	}
	l.unseal(t) // and back: the state survived the seal
	if _, err := l.c.Logical().Read("database/roles/app"); err != nil {
		t.Fatalf("role after unseal: %v", err)
	}
	mustOK(t, "seal", l.c.Sys().Seal())
}

// cleanup drops this run's database accounts (the broker revoked its dynamic ones).
func (l *lifecycle) cleanup(t *testing.T) {
	for _, u := range []string{"goapi_static_" + l.suffix, "goapi_import_" + l.suffix, l.pgAdmin} {
		if u != "" && l.srv.pgUserExists(t, u) {
			l.srv.pgRoot(t, `DROP ROLE IF EXISTS "`+u+`"`)
		}
	}
	if l.rdAdmin != "" {
		l.srv.redisRoot(t, "ACL", "DELUSER", l.rdAdmin)
	}
}
