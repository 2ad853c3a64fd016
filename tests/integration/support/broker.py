"""Shared pieces of the Python integration tests: the credbroker binary as a subprocess with SQLite
storage (initialised once, then auto-unsealed from a key file on every restart, as an operator runs
it), the throwaway PostgreSQL and Redis of scripts/test-servers.sh, and private PostgreSQL clusters
for tests that stop their database. A missing server or setting is a failure, never a skip.

Run with Debian's /usr/bin/python3 (it sees python3-hvac, python3-psycopg2, python3-redis)."""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import hvac
import psycopg2
import psycopg2.extensions
import requests

BIN = os.environ.get("CREDBROKER_BIN", "")


def env(name):
    value = os.environ.get(name, "")
    if not value:
        raise AssertionError(f"{name} is not set: run scripts/test-servers.sh start and source its env file")
    return value


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what, interval=0.1):
    """Polls predicate() until it returns a true value; fails naming `what` after `timeout` seconds."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_listening(proc, port, name, output):
    """Waits (20 s at most) until the process `proc` listens on 127.0.0.1:port; fails naming `name`
    (with what output() returns) if it exits first."""
    deadline = time.time() + 20
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited with {proc.returncode}: {output()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.time() > deadline:
                raise AssertionError(f"{name} did not start listening")
            time.sleep(0.05)


class Broker:
    """credbroker server -config with SQLite storage in a temporary directory. start() initialises the
    storage the first time (one unseal key, kept in a 0600 key file so restarts auto-unseal)."""

    def __init__(self, extra_config=None, keep_dir=None):
        if not BIN:
            raise AssertionError("CREDBROKER_BIN is not set")
        self.dir = keep_dir or tempfile.mkdtemp(prefix="credbroker-it-")
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.key_file = os.path.join(self.dir, "unseal.key")
        os.close(os.open(self.key_file, os.O_WRONLY | os.O_CREAT, 0o600))  # filled in after init
        cfg = {"listener": {"tcp": {"address": f"127.0.0.1:{self.port}", "tls_disable": True}},
               "storage": {"sqlite": {"path": os.path.join(self.dir, "data")}},
               "unseal_key_file": self.key_file, "log_level": "debug"}
        cfg.update(extra_config or {})
        self.config_path = os.path.join(self.dir, "config.json")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)
        self.proc = None
        self.root_token = None
        self.logs = []  # (stdout, stderr) of every run so far
        self.session = requests.Session()

    def start(self, env=None):
        """Starts the server (extra environment variables in `env`, e.g. CREDBROKER_CRASH_AT)."""
        # Append mode: the server writes at the end even while we seek to read (the offset is shared).
        self.out = tempfile.TemporaryFile(mode="a+")
        self.err = tempfile.TemporaryFile(mode="a+")
        self.proc = subprocess.Popen([BIN, "server", "-config", self.config_path], stdout=self.out, stderr=self.err,
                                     env={**os.environ, **(env or {})})
        wait_listening(self.proc, self.port, "server", lambda: self.read(self.err))
        if self.root_token is None:
            admin = hvac.Client(url=self.addr)
            init = admin.sys.initialize(secret_shares=1, secret_threshold=1)
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(init["keys"][0] + "\n")
            admin.sys.submit_unseal_keys(init["keys"])
            self.root_token = init["root_token"]
        wait_for(lambda: self.session.get(self.addr + "/v1/sys/health").status_code == 200, 20, "an unsealed server")
        return self

    @staticmethod
    def read(f):
        f.seek(0)
        return f.read()

    def _collect(self):
        if getattr(self, "out", None) is not None:
            self.logs.append((self.read(self.out), self.read(self.err)))
            self.out.close()
            self.err.close()
            self.out = self.err = None

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self._collect()

    def kill(self):
        self.stop(signal.SIGKILL)

    def wait_dead(self, timeout=30):
        """Waits for the server to die by itself (a crash point), and collects its logs."""
        self.proc.wait(timeout=timeout)
        self._collect()
        return self.proc.returncode

    def all_logs(self):
        text = "".join(o + e for o, e in self.logs)
        if getattr(self, "out", None) is not None:
            text += self.read(self.out) + self.read(self.err)
        return text

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, token=None):
        return hvac.Client(url=self.addr, token=token or self.root_token)

    def call(self, method, path, body=None, token=None):
        """Raw HTTP: returns (status, parsed JSON body or None)."""
        r = self.session.request(method, f"{self.addr}/v1/{path}", json=body,
                                 headers={"X-Vault-Token": token or self.root_token}, timeout=120)
        return r.status_code, (r.json() if r.content else None)


def shared_pg():
    """Connection settings of the throwaway PostgreSQL of scripts/test-servers.sh."""
    return {"host": env("CREDBROKER_TEST_PG_HOST"), "port": int(env("CREDBROKER_TEST_PG_PORT")),
            "user": env("CREDBROKER_TEST_PG_USER"), "password": env("CREDBROKER_TEST_PG_PASSWORD"),
            "dbname": env("CREDBROKER_TEST_PG_DATABASE")}


class _ClosingConnection(psycopg2.extensions.connection):
    """`with pg_connect(...) as c` closes the session at the end (psycopg2's own `with` only ends a
    transaction, and opens one even in autocommit mode)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def pg_connect(pg, user=None, password=None, **kw):
    """An autocommit session; a `with` block closes it."""
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], dbname=pg["dbname"], user=user or pg["user"],
                            password=password if password is not None else pg["password"], connect_timeout=5,
                            connection_factory=_ClosingConnection, **kw)
    conn.autocommit = True
    return conn


def pg_url(pg):
    return f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg['host']}:{pg['port']}/{pg['dbname']}"


def roles_with_prefix(pg, prefix):
    with pg_connect(pg) as c, c.cursor() as cur:
        cur.execute("SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (prefix,))
        return sorted(r[0] for r in cur.fetchall())


def configure_postgres(client, name, pg, allowed_roles="*", mount="database", **extra):
    client.secrets.database.configure(name=name, plugin_name="postgresql-database-plugin",
                                      allowed_roles=allowed_roles, connection_url=pg_url(pg),
                                      username=pg["user"], password=pg["password"], mount_point=mount, **extra)


def pg_bin():
    return "/usr/lib/postgresql/15/bin"


def as_postgres(*cmd, **kw):
    if os.getuid() == 0:
        cmd = ("runuser", "-u", "postgres", "--") + cmd
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class PgCluster:
    """A private PostgreSQL 15 cluster on a free loopback port (for tests that stop their database),
    with a superuser whose password is random. Runs as the postgres OS user when we are root."""

    def __init__(self, log_statements=False):
        self.dir = tempfile.mkdtemp(prefix="credbroker-pg-")
        os.chmod(self.dir, 0o755)
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        as_postgres(f"{pg_bin()}/initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust",
                    "--auth-host=scram-sha-256", "--no-instructions")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                    "fsync = off\nmax_connections = 100\nshared_buffers = 32MB\n")
            if log_statements:
                f.write("log_statement = 'all'\n")
        self.log = os.path.join(self.dir, "postgres.log")
        self.start()
        as_postgres("psql", "-q", "-h", self.dir, "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                    "-v", "ON_ERROR_STOP=1", "-v", f"pw={self.password}",
                    input="CREATE ROLE root WITH SUPERUSER LOGIN PASSWORD :'pw';\n")
        self.settings = {"host": "127.0.0.1", "port": self.port, "user": "root", "password": self.password,
                         "dbname": "postgres"}
        # An observer the broker does not manage: the postgres superuser over the trusted local socket.
        self.observer = {"host": self.dir, "port": self.port, "user": "postgres", "password": "", "dbname": "postgres"}

    def start(self):
        as_postgres(f"{pg_bin()}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def stop(self):
        as_postgres(f"{pg_bin()}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def server_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def destroy(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def shared_redis():
    """The throwaway Redis primary and replica of scripts/test-servers.sh."""
    return {"host": env("CREDBROKER_TEST_REDIS_HOST"), "port": int(env("CREDBROKER_TEST_REDIS_PORT")),
            "replica_port": int(env("CREDBROKER_TEST_REDIS_REPLICA_PORT")),
            "user": env("CREDBROKER_TEST_REDIS_USER"), "password": env("CREDBROKER_TEST_REDIS_PASSWORD")}


def redis_admin(r, port=None):
    import redis
    return redis.Redis(host=r["host"], port=port or r["port"], username=r["user"], password=r["password"],
                       socket_timeout=5, decode_responses=True)


def redis_users(r, port, prefix):
    return sorted(u for u in redis_admin(r, port).acl_users() if u.startswith(prefix))


def configure_redis(client, name, r, allowed_roles="*", mount="database", with_replica=True, **extra):
    """The shared (or a private) Redis as connection `name`; `extra` overrides any key."""
    params = {"host": r["host"], "port": r["port"], "username": r["user"], "password": r["password"]}
    if with_replica:
        params["replicas"] = [f"{r['host']}:{r['replica_port']}"]
    params.update(extra)
    client.secrets.database.configure(name=name, plugin_name="redis-database-plugin", allowed_roles=allowed_roles,
                                      mount_point=mount, **params)


class RedisPair:
    """A private Redis primary and its replica on free loopback ports, each with an aclfile, for tests
    that stop a node. stop(node)/start(node) with node "primary" or "replica"."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="credbroker-redis-")
        self.password = secrets.token_urlsafe(24)
        self.observer_password = secrets.token_urlsafe(24)  # a second admin the broker does not manage
        self.ports = {"primary": free_port(), "replica": free_port()}
        self.procs = {}
        for node, port in self.ports.items():
            d = os.path.join(self.dir, node)
            os.makedirs(d)
            with open(os.path.join(d, "users.acl"), "w") as f:
                f.write(f"user default off\nuser admin on >{self.password} ~* &* +@all\n"
                        f"user observer on >{self.observer_password} ~* &* +@all\n")
            conf = (f"bind 127.0.0.1\nport {port}\ndir {d}\naclfile {d}/users.acl\nsave \"\"\nappendonly no\n"
                    f"logfile {d}/redis.log\n")
            if node == "replica":
                conf += f"replicaof 127.0.0.1 {self.ports['primary']}\nmasteruser admin\nmasterauth {self.password}\n"
            with open(os.path.join(d, "redis.conf"), "w") as f:
                f.write(conf)
            self.start(node)
        self.settings = {"host": "127.0.0.1", "port": self.ports["primary"], "replica_port": self.ports["replica"],
                         "user": "admin", "password": self.password}
        self.observer = {**self.settings, "user": "observer", "password": self.observer_password}

    def start(self, node):
        d = os.path.join(self.dir, node)
        self.procs[node] = subprocess.Popen(["redis-server", os.path.join(d, "redis.conf")],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        wait_for(lambda: self._pings(node, redis), 10, f"redis {node} up")

    def _pings(self, node, redis):
        try:
            return redis.Redis(port=self.ports[node], username="observer", password=self.observer_password,
                               socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def stop(self, node):
        p = self.procs.pop(node, None)
        if p is not None:
            p.terminate()
            p.wait(timeout=10)

    def destroy(self):
        for node in list(self.procs):
            self.stop(node)
        shutil.rmtree(self.dir, ignore_errors=True)
