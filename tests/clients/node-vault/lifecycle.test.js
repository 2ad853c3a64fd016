'use strict';
// The whole lifecycle through node-vault 0.12's own commands (its generic read/write/list/delete
// where it has none) against a fresh, uninitialised credbroker that tests/clients/support/run_client.py
// started (VAULT_ADDR): seal-status, init, unseal; mount; PostgreSQL and Redis connections; roles;
// creds with real logins (pg, redis); renew, revoke, revoke-prefix (node-vault's legacy
// sys/revoke-prefix path); startLeaseRenewal renewing a lease until its max TTL, after which the
// user is gone; rotate-root; a static role; AppRole; tokens (one periodic) with policies; legacy
// sys/policy with node-vault's `rules`; capabilities; seal. Every secret goes to
// $CREDBROKER_CLIENT_SECRETS. Run: NODE_PATH=$CREDBROKER_CLIENTS_DIR/node-vault/node_modules node --test.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { once } = require('node:events');

const nodeVault = require('node-vault');
const pg = require('pg');
const { createClient } = require('redis');

const env = process.env;
const ADDR = env.VAULT_ADDR;
const PG = {
  host: env.CREDBROKER_TEST_PG_HOST, port: Number(env.CREDBROKER_TEST_PG_PORT),
  user: env.CREDBROKER_TEST_PG_USER, password: env.CREDBROKER_TEST_PG_PASSWORD, database: env.CREDBROKER_TEST_PG_DATABASE,
};
const REDIS = {
  host: env.CREDBROKER_TEST_REDIS_HOST, port: Number(env.CREDBROKER_TEST_REDIS_PORT),
  username: env.CREDBROKER_TEST_REDIS_USER, password: env.CREDBROKER_TEST_REDIS_PASSWORD,
};
const TAG = crypto.randomBytes(4).toString('hex');
const PG_CREATE = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"];
const PG_ROTATE = ["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"];
const APP_POLICY = 'path "database/creds/app" {\n  capabilities = ["read"]\n}\n';

function record(...values) {
  fs.appendFileSync(env.CREDBROKER_CLIENT_SECRETS, values.map((v) => `${v}\n`).join(''));
}

function secret() {
  return crypto.randomBytes(18).toString('base64url');
}

function step(name) {
  console.log(`-- ${name}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

async function pgLogin(user, password) {
  const c = new pg.Client({ ...PG, user, password, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    const r = await c.query('SELECT current_user AS u');
    return r.rows[0].u;
  } finally {
    await c.end();
  }
}

async function pgAdmin(sql, params = []) {
  const c = new pg.Client({ ...PG, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function pgRoleExists(name) {
  return (await pgAdmin('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).length === 1;
}

async function redisAdmin(fn) {
  const r = createClient({ socket: { host: REDIS.host, port: REDIS.port }, username: REDIS.username, password: REDIS.password });
  r.on('error', () => {});
  await r.connect();
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

// node-vault rejects with an error whose response.statusCode is Vault's status.
async function rejectsWith(promise, status, text) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.response && err.response.statusCode, status, `expected ${status}, got ${err.message}`);
    if (text) assert.match(err.message, text);
    return true;
  });
}

const accounts = {
  pgAdmin: `cb_nodevault_admin_${TAG}`, pgAdminPassword: secret(),
  redisAdmin: `cb_nodevault_admin_${TAG}`, redisAdminPassword: secret(),
  staticUser: `cb_nodevault_static_${TAG}`,
};

async function createAccounts() {
  record(accounts.pgAdminPassword, accounts.redisAdminPassword);
  await pgAdmin(`CREATE ROLE "${accounts.pgAdmin}" WITH LOGIN CREATEROLE PASSWORD '${accounts.pgAdminPassword}'`);
  await pgAdmin(`CREATE ROLE "${accounts.staticUser}" WITH LOGIN PASSWORD '${secret()}'`);
  await redisAdmin((r) => r.sendCommand(['ACL', 'SETUSER', accounts.redisAdmin, 'on', `>${accounts.redisAdminPassword}`,
    '~*', '&*', '+@all']));
}

async function dropAccounts() {
  await pgAdmin(`DROP ROLE IF EXISTS "${accounts.pgAdmin}"`);
  await pgAdmin(`DROP ROLE IF EXISTS "${accounts.staticUser}"`);
  await redisAdmin((r) => r.sendCommand(['ACL', 'DELUSER', accounts.redisAdmin]));
}

const vault = nodeVault({ endpoint: ADDR });
const state = {};

async function initAndUnseal() {
  step('seal-status, init, unseal, health');
  assert.equal((await vault.initialized()).initialized, false);
  const before = await vault.status();
  assert.equal(before.sealed, true);
  assert.equal(before.initialized, false);
  const init = await vault.init({ secret_shares: 3, secret_threshold: 2 });
  record(init.root_token, ...init.keys, ...init.keys_base64);
  assert.equal(init.keys.length, 3);
  assert.equal((await vault.initialized()).initialized, true);
  const first = await vault.unseal({ key: init.keys[0] });
  assert.deepEqual([first.sealed, first.t, first.n, first.progress], [true, 2, 3, 1]);
  const reset = await vault.unseal({ reset: true });
  assert.equal(reset.progress, 0);
  await vault.unseal({ key: init.keys[2] });
  const last = await vault.unseal({ key: init.keys[1] });
  assert.equal(last.sealed, false);
  vault.token = init.root_token;
  const health = await vault.health();
  assert.deepEqual([health.initialized, health.sealed, health.standby], [true, false, false]);
  const self = await vault.tokenLookupSelf();
  assert.deepEqual(self.data.policies, ['root']);
  await vault.rotate(); // the barrier's encryption key
  const keyStatus = await vault.read('sys/key-status');
  assert.equal(keyStatus.data.term, 2);
  state.init = init;
}

async function mountAndConfigure() {
  step('mount, PostgreSQL and Redis connections, roles');
  // node-vault sends every argument as the body, mount_point included.
  await vault.mount({ mount_point: 'database', type: 'database', description: 'node-vault lifecycle' });
  const mounts = await vault.mounts();
  assert.equal(mounts.data['database/'].type, 'database');
  assert.equal(mounts['database/'].type, 'database'); // Vault copies data to the top level here
  await vault.write('database/config/pg', {
    plugin_name: 'postgresql-database-plugin', allowed_roles: 'app,static-*,short',
    connection_url: `postgresql://{{username}}:{{password}}@${PG.host}:${PG.port}/${PG.database}`,
    username: accounts.pgAdmin, password: accounts.pgAdminPassword,
  });
  const conn = await vault.read('database/config/pg');
  assert.deepEqual(conn.data.allowed_roles, ['app', 'static-*', 'short']);
  assert.equal(conn.data.connection_details.password, undefined);
  await vault.write('database/config/cache', {
    plugin_name: 'redis-database-plugin', allowed_roles: ['cache'],
    host: REDIS.host, port: REDIS.port, username: accounts.redisAdmin, password: accounts.redisAdminPassword,
  });
  assert.deepEqual((await vault.list('database/config')).data.keys.sort(), ['cache', 'pg']);
  await vault.write('database/roles/app', { db_name: 'pg', creation_statements: PG_CREATE, default_ttl: '5m', max_ttl: 1200 });
  const role = await vault.read('database/roles/app');
  assert.deepEqual([role.data.default_ttl, role.data.max_ttl], [300, 1200]);
  await vault.write('database/roles/cache', { db_name: 'cache', creation_statements: ['["~cache:*", "+@read", "+@write"]'] });
  // node-vault renews at 80 % of the TTL: 6 s leaves 2 s for a loaded machine (the lease starts before
  // the user is created, as in Vault).
  await vault.write('database/roles/short', { db_name: 'pg', creation_statements: PG_CREATE, default_ttl: 6, max_ttl: 15 });
  // GET ?list=1, as node-vault sends it with noCustomHTTPVerbs.
  const plain = nodeVault({ endpoint: ADDR, token: vault.token, noCustomHTTPVerbs: true });
  assert.deepEqual((await plain.list('database/roles')).data.keys.sort(), ['app', 'cache', 'short']);
  await rejectsWith(vault.generateDatabaseCredentials({ databasePath: 'database', name: 'nope' }), 400, /unknown role: nope/);
  await rejectsWith(vault.read('database/roles/nope'), 404);
}

async function postgresCredentials() {
  step('PostgreSQL creds, login, renew, revoke');
  const creds = await vault.generateDatabaseCredentials({ databasePath: 'database', name: 'app' });
  record(creds.data.password);
  assert.equal(creds.lease_duration, 300);
  assert.equal(creds.renewable, true);
  assert.equal(await pgLogin(creds.data.username, creds.data.password), creds.data.username);
  const renewed = await vault.renew({ lease_id: creds.lease_id, increment: 600 });
  assert.equal(renewed.lease_id, creds.lease_id);
  assert.equal(renewed.lease_duration, 600);
  const plain = await vault.renew({ lease_id: creds.lease_id }); // no increment: the role's TTL
  assert.equal(plain.lease_duration, 300);
  const lookup = await vault.write('sys/leases/lookup', { lease_id: creds.lease_id });
  assert.equal(lookup.data.id, creds.lease_id);
  await vault.revoke({ lease_id: creds.lease_id });
  assert.equal(await pgRoleExists(creds.data.username), false);
  await assert.rejects(pgLogin(creds.data.username, creds.data.password));
  await rejectsWith(vault.renew({ lease_id: creds.lease_id }), 400, /lease not found/);
  await vault.revoke({ lease_id: creds.lease_id }); // revoking again is a no-op
}

async function redisCredentials() {
  step('Redis creds, login, revoke');
  const creds = await vault.generateDatabaseCredentials({ databasePath: 'database', name: 'cache' });
  record(creds.data.password);
  const r = createClient({ socket: { host: REDIS.host, port: REDIS.port }, username: creds.data.username, password: creds.data.password });
  r.on('error', () => {});
  await r.connect();
  await r.set(`cache:nodevault:${TAG}`, 'v');
  assert.equal(await r.get(`cache:nodevault:${TAG}`), 'v');
  await assert.rejects(r.set(`other:nodevault:${TAG}`, 'v'), /NOPERM/);
  await r.del(`cache:nodevault:${TAG}`);
  await r.close();
  await vault.revoke({ lease_id: creds.lease_id });
  const users = await redisAdmin((a) => a.sendCommand(['ACL', 'USERS']));
  assert.equal(users.includes(creds.data.username), false);
}

async function leaseRenewalUntilMaxTtl() {
  step('startLeaseRenewal until the max TTL (default_ttl 6s, max_ttl 15s)');
  const creds = await vault.generateDatabaseCredentials({ databasePath: 'database', name: 'short' });
  record(creds.data.password);
  assert.equal(creds.lease_duration, 6);
  const renewals = [];
  vault.on('lease:renewed', ({ leaseId, result }) => {
    if (leaseId === creds.lease_id) renewals.push(result.lease_duration);
  });
  let guard;
  const ended = Promise.race([once(vault, 'lease:error:renew'), once(vault, 'lease:expired'),
    new Promise((_, reject) => { guard = setTimeout(() => reject(new Error('the renewals did not end within 30 s')), 30000); })]);
  vault.startLeaseRenewal(creds.lease_id, creds.lease_duration);
  assert.equal(await pgLogin(creds.data.username, creds.data.password), creds.data.username);
  const [event] = await ended; // node-vault unrefs its timers: the 30 s guard keeps the loop alive
  clearTimeout(guard);
  vault.stopLeaseRenewal(creds.lease_id);
  assert.ok(renewals.length >= 2, `renewed ${renewals.length} times, then ${event.error ? event.error.message : 'expired'}`);
  assert.ok(renewals.every((d) => d >= 1 && d <= 6), `durations ${renewals}`);
  // The last renewals are capped at what is left of the 15 s.
  assert.ok(renewals[renewals.length - 1] < 6, `durations ${renewals}`);
  if (event.error) assert.match(event.error.message, /lease not found|lease expired|past the max TTL/);
  // At the max TTL the broker revokes the lease: the user is dropped.
  await waitFor(async () => !(await pgRoleExists(creds.data.username)), 'the expired user is dropped');
  console.log(`   renewed ${renewals.length} times: ${renewals.join(', ')} s`);
}

async function revokePrefix() {
  step('revoke-prefix (sys/revoke-prefix, node-vault\'s path)');
  const users = [];
  for (let i = 0; i < 3; i++) {
    const c = await vault.generateDatabaseCredentials({ databasePath: 'database', name: 'app' });
    record(c.data.password);
    users.push(c.data.username);
  }
  const listed = await vault.list('sys/leases/lookup/database/creds/app/');
  assert.equal(listed.data.keys.length, 3);
  await vault.revokePrefix({ path_prefix: 'database/creds/app' });
  for (const u of users) assert.equal(await pgRoleExists(u), false);
  await rejectsWith(vault.list('sys/leases/lookup/database/creds/app/'), 404);
}

async function rotateRoot() {
  step('rotate-root');
  await vault.write('database/rotate-root/pg');
  await assert.rejects(pgLogin(accounts.pgAdmin, accounts.pgAdminPassword), /password authentication failed/);
  const creds = await vault.generateDatabaseCredentials({ databasePath: 'database', name: 'app' });
  record(creds.data.password);
  assert.equal(await pgLogin(creds.data.username, creds.data.password), creds.data.username);
  await vault.revoke({ lease_id: creds.lease_id });
}

async function staticRole() {
  step('static role: create, read, creds, login, rotate');
  await vault.write('database/static-roles/static-app', {
    db_name: 'pg', username: accounts.staticUser, rotation_statements: PG_ROTATE, rotation_period: '1h',
  });
  const role = await vault.read('database/static-roles/static-app');
  assert.deepEqual([role.data.username, role.data.rotation_period], [accounts.staticUser, 3600]);
  assert.deepEqual((await vault.list('database/static-roles')).data.keys, ['static-app']);
  const creds = (await vault.read('database/static-creds/static-app')).data;
  record(creds.password);
  assert.equal(await pgLogin(accounts.staticUser, creds.password), accounts.staticUser);
  await vault.write('database/rotate-role/static-app');
  const again = (await vault.read('database/static-creds/static-app')).data;
  record(again.password);
  assert.notEqual(again.password, creds.password);
  await assert.rejects(pgLogin(accounts.staticUser, creds.password));
  assert.equal(await pgLogin(accounts.staticUser, again.password), accounts.staticUser);
  await vault.delete('database/static-roles/static-app');
  assert.equal(await pgRoleExists(accounts.staticUser), true);
}

async function policiesAndCapabilities() {
  step('policies (legacy sys/policy with rules, sys/policies/acl), capabilities');
  // node-vault's documented form: the policy in `rules`, JSON, Vault's pre-0.9 `policy = "..."` style.
  await vault.addPolicy({ name: 'legacy', rules: '{ "path": { "database/creds/*": { "policy": "read" } } }' });
  const legacy = await vault.getPolicy({ name: 'legacy' });
  assert.match(legacy.rules, /database\/creds/);
  assert.ok((await vault.policies()).policies.includes('legacy'));
  await vault.addPolicy({ name: 'app-reader', policy: APP_POLICY });
  assert.equal((await vault.read('sys/policies/acl/app-reader')).data.policy, APP_POLICY);
  await vault.write('sys/policies/acl/mounts-reader', { policy: 'path "sys/mounts" { capabilities = ["read"] }' });
  assert.ok((await vault.list('sys/policies/acl')).data.keys.includes('mounts-reader'));
  const limited = await nodeVault({ endpoint: ADDR, token: vault.token }).tokenCreate({ policies: ['legacy'], ttl: '10m' });
  record(limited.auth.client_token, limited.auth.accessor);
  const caps = await vault.write('sys/capabilities', { token: limited.auth.client_token, paths: ['database/creds/app', 'database/config/pg'] });
  assert.deepEqual(caps.data['database/creds/app'], ['list', 'read']); // legacy "read" = read + list, sorted
  assert.deepEqual(caps['database/config/pg'], ['deny']);
  const own = nodeVault({ endpoint: ADDR, token: limited.auth.client_token });
  const mine = await own.write('sys/capabilities-self', { paths: ['database/creds/app'] });
  assert.deepEqual(mine.capabilities, ['list', 'read']);
  const creds = await own.generateDatabaseCredentials({ databasePath: 'database', name: 'app' });
  record(creds.data.password);
  await rejectsWith(own.read('database/config/pg'), 403, /permission denied/);
  await vault.revoke({ lease_id: creds.lease_id });
  await vault.removePolicy({ name: 'legacy' });
  await rejectsWith(vault.getPolicy({ name: 'legacy' }), 404);
}

async function approle() {
  step('AppRole: enable, role, role-id, secret-id, login');
  await vault.enableAuth({ mount_point: 'approle', type: 'approle', description: 'node-vault' });
  assert.equal((await vault.auths()).data['approle/'].type, 'approle');
  // node-vault's schema: policies as a comma string, TTLs as integer seconds.
  await vault.addApproleRole({ role_name: 'svc', policies: 'app-reader', token_ttl: 600, token_max_ttl: 1800,
    secret_id_ttl: 600, secret_id_num_uses: 5 });
  const role = await vault.getApproleRole({ role_name: 'svc' });
  assert.deepEqual(role.data.token_policies, ['app-reader']);
  assert.deepEqual((await vault.approleRoles()).data.keys, ['svc']);
  const roleId = `svc-${TAG}`;
  await vault.updateApproleRoleId({ role_name: 'svc', role_id: roleId });
  assert.equal((await vault.getApproleRoleId({ role_name: 'svc' })).data.role_id, roleId);
  // metadata is a JSON string in node-vault's schema.
  const sec = (await vault.getApproleRoleSecret({ role_name: 'svc', metadata: '{"team":"payments"}' })).data;
  record(sec.secret_id, sec.secret_id_accessor);
  const looked = await vault.approleSecretLookup({ role_name: 'svc', secret_id: sec.secret_id });
  assert.deepEqual(looked.data.metadata, { team: 'payments' });
  assert.ok((await vault.approleSecretAccessors({ role_name: 'svc' })).data.keys.includes(sec.secret_id_accessor));
  const app = nodeVault({ endpoint: ADDR });
  const login = await app.approleLogin({ role_id: roleId, secret_id: sec.secret_id });
  record(login.auth.client_token, login.auth.accessor);
  assert.equal(app.token, login.auth.client_token); // tokenSource: node-vault keeps the token
  assert.deepEqual(login.auth.token_policies, ['app-reader', 'default']);
  assert.equal(login.auth.lease_duration, 600);
  const creds = await app.generateDatabaseCredentials({ databasePath: 'database', name: 'app' });
  record(creds.data.password);
  assert.equal(await pgLogin(creds.data.username, creds.data.password), creds.data.username);
  await rejectsWith(app.mounts(), 403);
  await app.tokenRevokeSelf();
  await waitFor(async () => !(await pgRoleExists(creds.data.username)), "the revoked token's user is dropped");
  const spare = (await vault.getApproleRoleSecret({ role_name: 'svc' })).data;
  record(spare.secret_id, spare.secret_id_accessor);
  const acc = await vault.approleSecretAccessorLookup({ role_name: 'svc', secret_id_accessor: spare.secret_id_accessor });
  assert.equal(acc.data.secret_id_accessor, spare.secret_id_accessor);
  await vault.approleSecretAccessorDestroy({ role_name: 'svc', secret_id_accessor: spare.secret_id_accessor });
  await rejectsWith(nodeVault({ endpoint: ADDR }).approleLogin({ role_id: roleId, secret_id: spare.secret_id }), 400);
  await vault.approleSecretDestroy({ role_name: 'svc', secret_id: sec.secret_id });
  await rejectsWith(nodeVault({ endpoint: ADDR }).approleLogin({ role_id: roleId, secret_id: sec.secret_id }), 400);
}

async function tokens() {
  step('tokens: create with policies, periodic, lookup, renew, revoke');
  // tokenCreate, tokenCreateOrphan and tokenRenew are tokenSource commands: the client they run on
  // takes the token they return. So each runs on a fresh client holding the root token.
  const root = () => nodeVault({ endpoint: ADDR, token: vault.token });
  const created = await root().tokenCreate({ policies: ['app-reader'], ttl: '10m', display_name: 'nv', meta: { owner: 'nv' } });
  record(created.auth.client_token, created.auth.accessor);
  assert.deepEqual(created.auth.policies, ['app-reader', 'default']);
  assert.equal(created.auth.lease_duration, 600);
  const looked = await vault.tokenLookup({ token: created.auth.client_token });
  assert.equal(looked.data.display_name, 'token-nv');
  assert.deepEqual(looked.data.meta, { owner: 'nv' });
  assert.equal((await vault.tokenLookupAccessor({ accessor: created.auth.accessor })).data.accessor, created.auth.accessor);
  assert.ok((await vault.tokenAccessors()).data.keys.includes(created.auth.accessor));
  // tokenCreate's schema has no `period`: the generic write sends it.
  const periodic = await vault.write('auth/token/create', { policies: ['app-reader'], period: '1h' });
  record(periodic.auth.client_token, periodic.auth.accessor);
  assert.equal(periodic.auth.lease_duration, 3600);
  const svc = nodeVault({ endpoint: ADDR, token: periodic.auth.client_token });
  assert.equal((await svc.tokenLookupSelf()).data.period, 3600);
  const renewed = await svc.tokenRenewSelf({ increment: '10m' });
  assert.equal(renewed.auth.lease_duration, 3600);
  const renewer = root();
  const again = await renewer.tokenRenew({ token: created.auth.client_token, increment: 300 });
  assert.equal(renewer.token, created.auth.client_token);
  assert.equal(again.auth.lease_duration, 300);
  const orphan = await root().tokenCreateOrphan({ policies: ['app-reader'], ttl: '5m' });
  record(orphan.auth.client_token, orphan.auth.accessor);
  assert.equal(orphan.auth.orphan, true);
  await vault.tokenRevoke({ token: orphan.auth.client_token });
  await vault.tokenRevokeAccessor({ accessor: periodic.auth.accessor });
  await rejectsWith(svc.tokenLookupSelf(), 403);
  await vault.tokenRevokeOrphan({ token: created.auth.client_token });
  state.revokedToken = created.auth.client_token;
}

async function leaderAndRevokedLookup() {
  step('sys/leader, looking up a revoked token');
  const l = await nodeVault({ endpoint: ADDR }).leader(); // unauthenticated, as in Vault
  assert.equal(l.ha_enabled, false);
  assert.notEqual(l.is_self, true); // false, or omitted when false (OpenBao)
  // Vault's lookup of a token that is gone: 403 (its token store answers ErrPermissionDenied).
  await rejectsWith(vault.tokenLookup({ token: state.revokedToken }), 403);
}

async function seal() {
  step('seal, status, health while sealed, unseal again, seal');
  // Vault's core refuses a write to a path ending in '/': the prefix is named without one.
  await rejectsWith(vault.revokePrefix({ path_prefix: 'database/' }), 400, /cannot write to a path ending in '\/'/);
  await vault.revokePrefix({ path_prefix: 'database' });
  await vault.seal();
  const s = await vault.status();
  assert.deepEqual([s.sealed, s.t, s.n, s.progress], [true, 2, 3, 0]);
  const h = await vault.health(); // node-vault resolves sys/health whatever the status (503 here)
  assert.equal(h.sealed, true);
  const code = await vault.health({ sealedcode: 200 });
  assert.equal(code.sealed, true);
  await rejectsWith(vault.read('database/roles/app'), 503);
  await vault.unseal({ key: state.init.keys_base64[0] });
  assert.equal((await vault.unseal({ key: state.init.keys[2] })).sealed, false);
  assert.equal((await vault.read('database/roles/app')).data.db_name, 'pg');
  await vault.unmount({ mount_point: 'database' });
  assert.equal((await vault.mounts()).data['database/'], undefined);
  await vault.disableAuth({ mount_point: 'approle' });
  await vault.seal();
  assert.equal((await vault.status()).sealed, true);
}

test('node-vault 0.12 drives the whole lifecycle', { timeout: 240000 }, async () => {
  console.log(`node-vault ${require('node-vault/package.json').version} (node ${process.version}) against ${ADDR}`);
  await createAccounts();
  try {
    await initAndUnseal();
    await mountAndConfigure();
    await postgresCredentials();
    await redisCredentials();
    await leaseRenewalUntilMaxTtl();
    await revokePrefix();
    await rotateRoot();
    await staticRole();
    await policiesAndCapabilities();
    await approle();
    await tokens();
    await leaderAndRevokedLookup();
    await seal();
  } finally {
    vault.stopAllRenewals();
    await dropAccounts();
  }
});
