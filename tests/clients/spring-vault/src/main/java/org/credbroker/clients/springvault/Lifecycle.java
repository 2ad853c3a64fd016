package org.credbroker.clients.springvault;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.springframework.http.client.SimpleClientHttpRequestFactory;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;
import org.springframework.vault.VaultException;
import org.springframework.vault.authentication.AppRoleAuthentication;
import org.springframework.vault.authentication.AppRoleAuthenticationOptions;
import org.springframework.vault.authentication.AppRoleAuthenticationOptions.RoleId;
import org.springframework.vault.authentication.AppRoleAuthenticationOptions.SecretId;
import org.springframework.vault.authentication.LifecycleAwareSessionManager;
import org.springframework.vault.authentication.TokenAuthentication;
import org.springframework.vault.client.VaultClients;
import org.springframework.vault.client.VaultEndpoint;
import org.springframework.vault.core.VaultSysOperations;
import org.springframework.vault.core.VaultTemplate;
import org.springframework.vault.core.lease.SecretLeaseContainer;
import org.springframework.vault.core.lease.domain.RequestedSecret;
import org.springframework.vault.core.lease.event.AfterSecretLeaseRenewedEvent;
import org.springframework.vault.core.lease.event.AfterSecretLeaseRevocationEvent;
import org.springframework.vault.core.lease.event.SecretLeaseCreatedEvent;
import org.springframework.vault.core.lease.event.SecretLeaseErrorEvent;
import org.springframework.vault.core.lease.event.SecretLeaseEvent;
import org.springframework.vault.core.lease.event.SecretLeaseRotatedEvent;
import org.springframework.vault.support.Policy;
import org.springframework.vault.support.VaultHealth;
import org.springframework.vault.support.VaultInitializationRequest;
import org.springframework.vault.support.VaultInitializationResponse;
import org.springframework.vault.support.VaultMount;
import org.springframework.vault.support.VaultResponse;
import org.springframework.vault.support.VaultToken;
import org.springframework.vault.support.VaultTokenRequest;
import org.springframework.vault.support.VaultTokenResponse;
import org.springframework.vault.support.VaultUnsealStatus;

/**
 * The whole lifecycle through Spring Vault against a fresh, uninitialised credbroker that
 * tests/clients/support/run_client.py started (VAULT_ADDR): VaultSysOperations for seal-status, init,
 * unseal, mounts, policies and seal; VaultTemplate's read/write/list/delete for the database engine;
 * VaultTokenOperations for tokens; AppRoleAuthentication (role-id and secret-id pulled with a token)
 * behind a LifecycleAwareSessionManager; and, above all, a SecretLeaseContainer that obtains
 * database/creds/short (requestRotatingSecret), renews it (lease events observed) and rotates it
 * before its max TTL (a new credential event), each credential proven with a JDBC login. Every
 * secret goes to $CREDBROKER_CLIENT_SECRETS. Exits non-zero at the first failed check.
 */
public final class Lifecycle {

	private static final String PG_CREATE = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';";

	private static final String PG_ROTATE = "ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';";

	private static final SecureRandom RANDOM = new SecureRandom();

	private final Map<String, String> env = System.getenv();

	private final String tag = HexFormat.of().formatHex(bytes(4));

	private final String pgAdmin = "cb_spring_admin_" + tag;

	private final String pgAdminPassword = secret();

	private final String redisAdmin = "cb_spring_admin_" + tag;

	private final String redisAdminPassword = secret();

	private final String staticUser = "cb_spring_static_" + tag;

	private final VaultEndpoint endpoint = VaultEndpoint.from(URI.create(env.get("VAULT_ADDR")));

	private VaultInitializationResponse init;

	private VaultTemplate root;

	public static void main(String[] args) throws Exception {
		Lifecycle l = new Lifecycle();
		System.out.println("spring-vault-core " + VaultTemplate.class.getPackage().getImplementationVersion() + " (Java "
				+ Runtime.version() + ") against " + l.endpoint);
		l.createAccounts();
		try {
			l.initAndUnseal();
			l.mountAndConfigure();
			l.postgresCredentials();
			l.redisCredentials();
			l.revokePrefix();
			l.rotateRoot();
			l.staticRole();
			l.policies();
			l.tokens();
			l.secretLeaseContainerWithAppRole();
			l.seal();
		} finally {
			l.dropAccounts();
		}
		System.out.println("spring-vault: lifecycle passed");
		System.exit(0); // the schedulers' threads are daemons, but say it plainly
	}

	// -- seal-status, init, unseal -------------------------------------------------------------

	void initAndUnseal() {
		step("seal-status, init, unseal, health");
		VaultSysOperations sys = new VaultTemplate(endpoint).opsForSys(); // no token yet
		check(!sys.isInitialized(), "uninitialised at first");
		VaultUnsealStatus before = sys.getUnsealStatus();
		check(before.isSealed(), "sealed at first");
		init = sys.initialize(VaultInitializationRequest.create(3, 2));
		record(init.getRootToken().getToken());
		init.getKeys().forEach(Lifecycle::record);
		check(init.getKeys().size() == 3, "3 key shares");
		check(sys.isInitialized(), "initialised");
		VaultUnsealStatus first = sys.unseal(init.getKeys().get(0));
		check(first.isSealed() && first.getProgress() == 1 && first.getSecretThreshold() == 2
				&& first.getSecretShares() == 3, "one key of two: still sealed, progress 1 of t=2, n=3");
		VaultUnsealStatus last = sys.unseal(init.getKeys().get(2));
		check(!last.isSealed(), "two keys unseal");
		VaultHealth health = sys.health();
		check(health.isInitialized() && !health.isSealed() && !health.isStandby(), "health: initialised, unsealed, active");
		root = new VaultTemplate(endpoint, new TokenAuthentication(init.getRootToken()));
	}

	// -- mount, connections, roles -------------------------------------------------------------

	void mountAndConfigure() {
		step("mount, PostgreSQL and Redis connections, roles");
		VaultSysOperations sys = root.opsForSys();
		sys.mount("database", VaultMount.builder().type("database").description("spring vault lifecycle").build());
		Map<String, VaultMount> mounts = sys.getMounts();
		check(mounts.containsKey("database/") && "database".equals(mounts.get("database/").getType()), "database/ mounted");
		root.write("database/config/pg", Map.of("plugin_name", "postgresql-database-plugin",
				"allowed_roles", List.of("app", "short", "static-*"),
				"connection_url", "postgresql://{{username}}:{{password}}@" + pgHost() + ":" + pgPort() + "/" + pgDatabase(),
				"username", pgAdmin, "password", pgAdminPassword));
		VaultResponse conn = root.read("database/config/pg");
		check(conn != null && pgAdmin.equals(details(conn).get("username")) && !details(conn).containsKey("password"),
				"config read back without its password");
		root.write("database/config/cache", Map.of("plugin_name", "redis-database-plugin", "allowed_roles", "cache",
				"host", env.get("CREDBROKER_TEST_REDIS_HOST"), "port", Integer.parseInt(env.get("CREDBROKER_TEST_REDIS_PORT")),
				"username", redisAdmin, "password", redisAdminPassword));
		check(sorted(root.list("database/config")).equals(List.of("cache", "pg")), "two connections listed");
		root.write("database/roles/app", Map.of("db_name", "pg", "creation_statements", List.of(PG_CREATE),
				"default_ttl", "5m", "max_ttl", "20m"));
		// Short leases for the SecretLeaseContainer: renewed every ~2 s, rotated before 12 s.
		root.write("database/roles/short", Map.of("db_name", "pg", "creation_statements", List.of(PG_CREATE),
				"default_ttl", 4, "max_ttl", 12));
		root.write("database/roles/cache", Map.of("db_name", "cache",
				"creation_statements", List.of("[\"~cache:*\", \"+@read\", \"+@write\"]")));
		VaultResponse role = root.read("database/roles/app");
		check(role != null && Integer.valueOf(300).equals(role.getRequiredData().get("default_ttl"))
				&& Integer.valueOf(1200).equals(role.getRequiredData().get("max_ttl")), "role TTLs in seconds");
		check(sorted(root.list("database/roles")).equals(List.of("app", "cache", "short")), "three roles listed");
		check(root.read("database/roles/nope") == null, "an unknown role reads as null (404)");
		expectFailure(() -> root.read("database/creds/nope"), "400", "unknown role: nope");
	}

	// -- dynamic credentials -------------------------------------------------------------------

	void postgresCredentials() throws SQLException {
		step("PostgreSQL creds, JDBC login, renew, lookup, revoke");
		VaultResponse creds = root.read("database/creds/app");
		String user = data(creds, "username");
		String password = data(creds, "password");
		record(password);
		check(creds.getLeaseDuration() == 300 && creds.isRenewable() && creds.getLeaseId().startsWith("database/creds/app/"),
				"a renewable 300 s lease under database/creds/app/");
		check(user.equals(pgLogin(user, password)), "JDBC login with the issued credential");
		VaultResponse renewed = root.write("sys/leases/renew", Map.of("lease_id", creds.getLeaseId(), "increment", "10m"));
		check(renewed != null && renewed.getLeaseDuration() == 600, "renewed to 600 s");
		VaultResponse lookup = root.write("sys/leases/lookup", Map.of("lease_id", creds.getLeaseId()));
		check(creds.getLeaseId().equals(lookup.getRequiredData().get("id")), "lease lookup");
		root.write("sys/leases/revoke", Map.of("lease_id", creds.getLeaseId()));
		check(!pgRoleExists(user), "revoked: the role is dropped");
		expectLoginFails(user, password);
	}

	void redisCredentials() throws IOException {
		step("Redis creds, AUTH, revoke");
		VaultResponse creds = root.read("database/creds/cache");
		String user = data(creds, "username");
		String password = data(creds, "password");
		record(password);
		check("+OK".equals(redisAuth(user, password)), "Redis AUTH with the issued credential");
		root.write("sys/leases/revoke", Map.of("lease_id", creds.getLeaseId()));
		check(redisAuth(user, password).startsWith("-WRONGPASS"), "revoked: Redis refuses the credential");
	}

	void revokePrefix() throws SQLException {
		step("revoke-prefix");
		List<String> users = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			VaultResponse c = root.read("database/creds/app");
			record(data(c, "password"));
			users.add(data(c, "username"));
		}
		check(root.list("sys/leases/lookup/database/creds/app").size() == 3, "three leases listed");
		root.write("sys/leases/revoke-prefix/database/creds/app", null);
		for (String u : users) {
			check(!pgRoleExists(u), "revoke-prefix dropped " + u);
		}
	}

	void rotateRoot() throws SQLException {
		step("rotate-root");
		root.write("database/rotate-root/pg", null);
		expectLoginFails(pgAdmin, pgAdminPassword);
		VaultResponse c = root.read("database/creds/app");
		record(data(c, "password"));
		check(data(c, "username").equals(pgLogin(data(c, "username"), data(c, "password"))), "issuance goes on after rotate-root");
		root.write("sys/leases/revoke", Map.of("lease_id", c.getLeaseId()));
	}

	void staticRole() throws SQLException {
		step("static role: create, read, creds, login, rotate");
		root.write("database/static-roles/static-app", Map.of("db_name", "pg", "username", staticUser,
				"rotation_statements", List.of(PG_ROTATE), "rotation_period", "1h"));
		VaultResponse role = root.read("database/static-roles/static-app");
		check(staticUser.equals(role.getRequiredData().get("username"))
				&& Integer.valueOf(3600).equals(role.getRequiredData().get("rotation_period")), "static role read back");
		String first = data(root.read("database/static-creds/static-app"), "password");
		record(first);
		check(staticUser.equals(pgLogin(staticUser, first)), "static credential logs in");
		root.write("database/rotate-role/static-app", null);
		String second = data(root.read("database/static-creds/static-app"), "password");
		record(second);
		check(!second.equals(first), "rotate-role changed the password");
		expectLoginFails(staticUser, first);
		check(staticUser.equals(pgLogin(staticUser, second)), "the new static password logs in");
		root.delete("database/static-roles/static-app");
		check(pgRoleExists(staticUser), "the static account stays after its role is deleted");
	}

	// -- policies, capabilities, tokens --------------------------------------------------------

	void policies() {
		step("policies (Spring's JSON rules on sys/policy), capabilities");
		VaultSysOperations sys = root.opsForSys();
		Policy policy = Policy.of(Policy.Rule.builder().path("database/creds/*").capabilities(Policy.BuiltinCapabilities.READ).build(),
				Policy.Rule.builder().path("sys/leases/lookup/database/creds/short/").capabilities(Policy.BuiltinCapabilities.LIST,
						Policy.BuiltinCapabilities.SUDO).build());
		sys.createOrUpdatePolicy("app-reader", policy);
		Policy back = sys.getPolicy("app-reader");
		check(back != null && back.getRule("database/creds/*") != null
				&& back.getRule("database/creds/*").getCapabilities().contains(Policy.BuiltinCapabilities.READ),
				"policy read back and parsed by Spring");
		check(sys.getPolicyNames().containsAll(List.of("app-reader", "default", "root")), "policy names listed");
		sys.createOrUpdatePolicy("doomed", Policy.of(Policy.Rule.builder().path("sys/mounts").capabilities(Policy.BuiltinCapabilities.READ).build()));
		sys.deletePolicy("doomed");
		check(sys.getPolicy("doomed") == null, "a deleted policy reads as null");
		VaultResponse caps = root.write("sys/capabilities-self", Map.of("paths", List.of("database/creds/app")));
		check(List.of("root").equals(caps.getRequiredData().get("capabilities")), "the root token's capabilities");
	}

	void tokens() {
		step("tokens: create with policies, periodic, renew, revoke");
		// Spring always sends "renewable": it is false unless the builder says renewable().
		VaultTokenResponse created = root.opsForToken().create(VaultTokenRequest.builder().withPolicy("app-reader")
				.ttl(Duration.ofMinutes(10)).renewable().displayName("spring").meta(Map.of("owner", "spring")).build());
		VaultToken token = created.getToken();
		record(token.getToken());
		check(List.of("app-reader", "default").equals(created.getAuth().get("policies")), "token policies");
		check(Integer.valueOf(600).equals(created.getAuth().get("lease_duration")), "token TTL 600 s");
		VaultTemplate asToken = new VaultTemplate(endpoint, new TokenAuthentication(token));
		VaultResponse caps = asToken.write("sys/capabilities-self", Map.of("paths", List.of("database/creds/app")));
		check(List.of("read").equals(caps.getRequiredData().get("capabilities")), "capabilities-self of the limited token");
		expectFailure(() -> asToken.read("database/config/pg"), "403", "permission denied");
		VaultTokenResponse renewed = root.opsForToken().renew(token);
		check(renewed.getAuth() != null && Integer.valueOf(600).equals(renewed.getAuth().get("lease_duration")), "token renewed");
		// VaultTokenRequest has no period: the generic write sends it.
		VaultResponse periodic = root.write("auth/token/create", Map.of("policies", List.of("app-reader"), "period", "1h"));
		record((String) periodic.getAuth().get("client_token"));
		check(Integer.valueOf(3600).equals(periodic.getAuth().get("lease_duration")), "periodic token: TTL = period");
		VaultTemplate asPeriodic = new VaultTemplate(endpoint, new TokenAuthentication((String) periodic.getAuth().get("client_token")));
		check(Integer.valueOf(3600).equals(asPeriodic.read("auth/token/lookup-self").getRequiredData().get("period")), "lookup-self shows the period");
		VaultTokenResponse orphan = root.opsForToken().createOrphan(VaultTokenRequest.builder().withPolicy("app-reader").build());
		record(orphan.getToken().getToken());
		check(Boolean.TRUE.equals(orphan.getAuth().get("orphan")), "orphan token");
		check(Boolean.FALSE.equals(orphan.getAuth().get("renewable")), "renewable=false as Spring sent it");
		// Spring sends "display_name": "", "ttl": null, "num_uses": 0: Vault's defaults apply.
		check(Integer.valueOf(2764800).equals(orphan.getAuth().get("lease_duration")), "no ttl: the system's 768 h");
		VaultResponse orphanLookup = root.write("auth/token/lookup", Map.of("token", orphan.getToken().getToken()));
		check("token".equals(orphanLookup.getRequiredData().get("display_name")), "an empty display name stays \"token\", got "
				+ orphanLookup.getRequiredData().get("display_name"));
		check(Integer.valueOf(0).equals(orphanLookup.getRequiredData().get("num_uses")), "num_uses 0 = unlimited");
		expectFailure(() -> root.opsForToken().renew(orphan.getToken()), "400", "lease is not renewable");
		root.opsForToken().revoke(orphan.getToken());
		root.opsForToken().revoke(token);
		expectFailure(() -> asToken.read("auth/token/lookup-self"), "403", "permission denied");
	}

	// -- AppRole + SecretLeaseContainer --------------------------------------------------------

	void secretLeaseContainerWithAppRole() throws Exception {
		step("AppRole login (role-id and secret-id pulled) + SecretLeaseContainer: obtain, renew, rotate");
		VaultSysOperations sys = root.opsForSys();
		sys.authMount("approle", VaultMount.builder().type("approle").description("spring").build());
		check(sys.getAuthMounts().containsKey("approle/"), "approle/ enabled");
		// Vault's default policy lets a token renew its leases, not revoke them: the container's
		// destroy() revokes, so the application's policy grants it.
		sys.createOrUpdatePolicy("lease-revoker", Policy.of(
				Policy.Rule.builder().path("sys/leases/revoke").capabilities(Policy.BuiltinCapabilities.UPDATE).build()));
		root.write("auth/approle/role/spring-app", Map.of("token_policies", "app-reader,lease-revoker", "token_ttl", "5m",
				"token_max_ttl", "30m", "secret_id_num_uses", 0));
		// A token that may only pull the role-id and a secret-id (Spring's "pull" mode).
		root.opsForSys().createOrUpdatePolicy("approle-bootstrap", Policy.of(
				Policy.Rule.builder().path("auth/approle/role/spring-app/role-id").capabilities(Policy.BuiltinCapabilities.READ).build(),
				Policy.Rule.builder().path("auth/approle/role/spring-app/secret-id").capabilities(Policy.BuiltinCapabilities.UPDATE).build()));
		VaultToken bootstrap = root.opsForToken().create(VaultTokenRequest.builder().withPolicy("approle-bootstrap")
				.ttl(Duration.ofMinutes(5)).build()).getToken();
		record(bootstrap.getToken());
		AppRoleAuthenticationOptions options = AppRoleAuthenticationOptions.builder().appRole("spring-app")
				.roleId(RoleId.pull(bootstrap)).secretId(SecretId.pull(bootstrap)).build();
		var requestFactory = new SimpleClientHttpRequestFactory();
		var rest = VaultClients.createRestTemplate(endpoint, requestFactory);
		ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
		scheduler.setPoolSize(2);
		scheduler.setDaemon(true);
		scheduler.setThreadNamePrefix("credbroker-spring-");
		scheduler.afterPropertiesSet();
		LifecycleAwareSessionManager session = new LifecycleAwareSessionManager(new AppRoleAuthentication(options, rest),
				scheduler, rest);
		VaultTemplate app = new VaultTemplate(endpoint, requestFactory, session);
		VaultToken appToken = session.getSessionToken();
		record(appToken.getToken());
		VaultResponse self = app.read("auth/token/lookup-self");
		check(List.of("app-reader", "default", "lease-revoker").equals(self.getRequiredData().get("policies")),
				"the AppRole token holds the role's policies");
		expectFailure(() -> app.read("database/config/pg"), "403", "permission denied");

		BlockingQueue<SecretLeaseEvent> events = new LinkedBlockingQueue<>();
		List<Throwable> errors = new CopyOnWriteArrayList<>();
		SecretLeaseContainer container = new SecretLeaseContainer(app, scheduler);
		container.setMinRenewal(Duration.ofSeconds(1));
		container.setExpiryThreshold(Duration.ofSeconds(2));
		container.addLeaseListener(events::add);
		List<Throwable> pastMaxTtl = new CopyOnWriteArrayList<>();
		container.addErrorListener((event, error) -> {
			// A renew refused at the max TTL (400) also makes the container rotate: only when a late
			// renewal (a loaded machine) missed the last second before it.
			(error instanceof VaultException && error.getMessage().contains("Status 400") ? pastMaxTtl : errors).add(error);
		});
		RequestedSecret secret = container.requestRotatingSecret("database/creds/short");
		container.afterPropertiesSet();
		long started = System.nanoTime();
		container.start();

		SecretLeaseCreatedEvent created = next(events, SecretLeaseCreatedEvent.class, 10);
		check(created.getSource() == secret, "the created event is for the requested secret");
		String firstUser = (String) created.getSecrets().get("username");
		String firstPassword = (String) created.getSecrets().get("password");
		record(firstPassword);
		check(created.getLease().getLeaseDuration().getSeconds() == 4, "the first lease lasts the role's 4 s");
		check(firstUser.equals(pgLogin(firstUser, firstPassword)), "JDBC login with the container's credential");
		int renewals = 0;
		SecretLeaseRotatedEvent rotated = null;
		while (rotated == null) {
			SecretLeaseEvent e = events.poll(20, TimeUnit.SECONDS);
			check(e != null, "the container keeps renewing, then rotates");
			if (e instanceof AfterSecretLeaseRenewedEvent renewed) {
				renewals++;
				check(renewed.getLease().getLeaseId().equals(created.getLease().getLeaseId()), "renewals keep the lease id");
				check(renewed.getLease().getLeaseDuration().getSeconds() <= 4, "renewals never exceed the role's TTL");
			} else if (e instanceof SecretLeaseRotatedEvent r) {
				rotated = r;
			}
		}
		double seconds = (System.nanoTime() - started) / 1e9;
		System.out.printf("   %d renewals, rotated after %.1f s (%s)%n", renewals, seconds,
				pastMaxTtl.isEmpty() ? "before the max TTL" : "after a renewal refused past the max TTL");
		check(renewals >= 3, "at least three renewals before the rotation (saw " + renewals + ")");
		String secondUser = (String) rotated.getSecrets().get("username");
		String secondPassword = (String) rotated.getSecrets().get("password");
		record(secondPassword);
		check(!secondUser.equals(firstUser), "the rotation brought a new user");
		check(rotated.getPreviousLease().getLeaseId().equals(created.getLease().getLeaseId()), "the rotation names the old lease");
		check(secondUser.equals(pgLogin(secondUser, secondPassword)), "the rotated credential logs in");
		// The first lease ends at its max TTL: the broker drops its user.
		waitFor(() -> !pgRoleExists(firstUser), 20, "the first user is dropped at its max TTL");
		expectLoginFails(firstUser, firstPassword);
		check(errors.isEmpty(), "no lease errors: " + errors);
		container.destroy(); // revokes the current lease
		check(events.stream().anyMatch(e -> e instanceof AfterSecretLeaseRevocationEvent), "the container revoked its lease");
		check(!pgRoleExists(secondUser), "destroy() revoked the rotated credential");
		session.destroy(); // revoke-self of the AppRole token
		expectFailure(() -> new VaultTemplate(endpoint, new TokenAuthentication(appToken)).read("auth/token/lookup-self"),
				"403", "permission denied");
		scheduler.destroy();
	}

	void seal() {
		step("seal, status, unseal, seal");
		root.write("sys/leases/revoke-prefix/database", null);
		VaultSysOperations sys = root.opsForSys();
		sys.seal();
		VaultUnsealStatus s = sys.getUnsealStatus();
		check(s.isSealed() && s.getProgress() == 0, "sealed");
		VaultHealth h = sys.health(); // 503, read from the error body
		check(h.isSealed() && h.isInitialized(), "health while sealed");
		expectFailure(() -> root.read("database/roles/app"), "503", null);
		sys.unseal(init.getKeys().get(1));
		check(!sys.unseal(init.getKeys().get(0)).isSealed(), "unsealed with two other keys");
		check("pg".equals(root.read("database/roles/app").getRequiredData().get("db_name")), "state survives the seal");
		sys.unmount("database");
		check(!sys.getMounts().containsKey("database/"), "unmounted");
		sys.seal();
		check(sys.getUnsealStatus().isSealed(), "sealed at the end");
	}

	// -- helpers --------------------------------------------------------------------------------

	private static void step(String name) {
		System.out.println("-- " + name);
	}

	private static void check(boolean ok, String what) {
		if (!ok) {
			throw new AssertionError("check failed: " + what);
		}
	}

	private static void expectFailure(Runnable call, String status, String text) {
		try {
			call.run();
		} catch (RuntimeException e) {
			String m = String.valueOf(e.getMessage());
			check(m.contains(status) && (text == null || m.contains(text)), "expected " + status + " " + text + ", got " + m);
			return;
		}
		throw new AssertionError("expected a failure with " + status);
	}

	@SuppressWarnings("unchecked")
	private static <T extends SecretLeaseEvent> T next(BlockingQueue<SecretLeaseEvent> events, Class<T> type, int seconds)
			throws InterruptedException {
		SecretLeaseEvent e = events.poll(seconds, TimeUnit.SECONDS);
		if (e instanceof SecretLeaseErrorEvent err) {
			throw new AssertionError("lease error instead of " + type.getSimpleName(), err.getException());
		}
		check(type.isInstance(e), "expected " + type.getSimpleName() + ", got " + e);
		return (T) e;
	}

	private static void waitFor(BooleanSupplier condition, int seconds, String what) throws InterruptedException {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
		while (!condition.getAsBoolean()) {
			check(System.nanoTime() < deadline, "timed out waiting until " + what);
			Thread.sleep(100);
		}
	}

	private static String data(VaultResponse r, String key) {
		check(r != null && r.getData() != null && r.getData().get(key) instanceof String, "response has data." + key);
		return (String) r.getRequiredData().get(key);
	}

	@SuppressWarnings("unchecked")
	private static Map<String, Object> details(VaultResponse r) {
		return (Map<String, Object>) r.getRequiredData().get("connection_details");
	}

	private static List<String> sorted(List<String> l) {
		check(l != null, "a list answer");
		return l.stream().sorted().toList();
	}

	private static byte[] bytes(int n) {
		byte[] b = new byte[n];
		RANDOM.nextBytes(b);
		return b;
	}

	private static String secret() {
		return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes(18));
	}

	private static void record(String value) {
		try {
			Files.writeString(Path.of(System.getenv("CREDBROKER_CLIENT_SECRETS")), value + "\n", StandardCharsets.UTF_8,
					StandardOpenOption.APPEND);
		} catch (IOException e) {
			throw new IllegalStateException("cannot record a secret", e);
		}
	}

	private String pgHost() {
		return env.get("CREDBROKER_TEST_PG_HOST");
	}

	private String pgPort() {
		return env.get("CREDBROKER_TEST_PG_PORT");
	}

	private String pgDatabase() {
		return env.get("CREDBROKER_TEST_PG_DATABASE");
	}

	private Connection pg(String user, String password) throws SQLException {
		Properties p = new Properties();
		p.setProperty("user", user);
		p.setProperty("password", password);
		p.setProperty("connectTimeout", "5");
		return DriverManager.getConnection("jdbc:postgresql://" + pgHost() + ":" + pgPort() + "/" + pgDatabase(), p);
	}

	private String pgLogin(String user, String password) throws SQLException {
		try (Connection c = pg(user, password); Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT current_user")) {
			r.next();
			return r.getString(1);
		}
	}

	private void expectLoginFails(String user, String password) {
		try {
			pg(user, password).close();
			throw new AssertionError("login still works for " + user);
		} catch (SQLException e) {
			check("28P01".equals(e.getSQLState()) || "28000".equals(e.getSQLState()), "login refused, got " + e.getSQLState());
		}
	}

	private void pgAdminExec(String sql) throws SQLException {
		try (Connection c = pg(env.get("CREDBROKER_TEST_PG_USER"), env.get("CREDBROKER_TEST_PG_PASSWORD")); Statement s = c.createStatement()) {
			s.execute(sql);
		}
	}

	private boolean pgRoleExists(String name) {
		try (Connection c = pg(env.get("CREDBROKER_TEST_PG_USER"), env.get("CREDBROKER_TEST_PG_PASSWORD"));
				PreparedStatement s = c.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
			s.setString(1, name);
			try (ResultSet r = s.executeQuery()) {
				return r.next();
			}
		} catch (SQLException e) {
			throw new IllegalStateException(e);
		}
	}

	/** One RESP command on a fresh connection; the first line of the answer. */
	private String redis(String... words) throws IOException {
		try (Socket s = new Socket(env.get("CREDBROKER_TEST_REDIS_HOST"), Integer.parseInt(env.get("CREDBROKER_TEST_REDIS_PORT")))) {
			s.setSoTimeout(5000);
			OutputStream out = s.getOutputStream();
			out.write(resp(words));
			out.flush();
			return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
		}
	}

	private String redisAuth(String user, String password) throws IOException {
		return redis("AUTH", user, password);
	}

	/** AUTH as the test servers' admin, then one command on the same connection: its answer's first line. */
	private String redisAsAdmin(String... words) throws IOException {
		try (Socket s = new Socket(env.get("CREDBROKER_TEST_REDIS_HOST"), Integer.parseInt(env.get("CREDBROKER_TEST_REDIS_PORT")))) {
			s.setSoTimeout(5000);
			OutputStream out = s.getOutputStream();
			BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
			out.write(resp("AUTH", env.get("CREDBROKER_TEST_REDIS_USER"), env.get("CREDBROKER_TEST_REDIS_PASSWORD")));
			out.flush();
			check("+OK".equals(in.readLine()), "Redis admin AUTH");
			out.write(resp(words));
			out.flush();
			return in.readLine();
		}
	}

	private static byte[] resp(String... words) {
		StringBuilder cmd = new StringBuilder("*" + words.length + "\r\n");
		for (String w : words) {
			cmd.append('$').append(w.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(w).append("\r\n");
		}
		return cmd.toString().getBytes(StandardCharsets.UTF_8);
	}

	void createAccounts() throws SQLException, IOException {
		record(pgAdminPassword);
		record(redisAdminPassword);
		pgAdminExec("CREATE ROLE \"" + pgAdmin + "\" WITH LOGIN CREATEROLE PASSWORD '" + pgAdminPassword + "'");
		pgAdminExec("CREATE ROLE \"" + staticUser + "\" WITH LOGIN PASSWORD '" + secret() + "'");
		check("+OK".equals(redisAsAdmin("ACL", "SETUSER", redisAdmin, "on", ">" + redisAdminPassword, "~*", "&*", "+@all")),
				"Redis admin user created");
	}

	void dropAccounts() throws SQLException, IOException {
		pgAdminExec("DROP ROLE IF EXISTS \"" + pgAdmin + "\"");
		pgAdminExec("DROP ROLE IF EXISTS \"" + staticUser + "\"");
		redisAsAdmin("ACL", "DELUSER", redisAdmin);
	}

}
