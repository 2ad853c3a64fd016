"""HA brokers on loopback for the tests of integration/ha: a Node is one credbroker server in HA mode
on a PostgreSQL storage table (storage.postgresql.ha_enabled, leadership TTL TTL_S), and
start_cluster() initialises a new cluster through its first node and brings the others up as
standbys that unseal themselves from their key files."""
import json
import os
import signal
import subprocess
import time

import psycopg2
import psycopg2.errors
import requests

from broker import BIN, free_port, pg_connect, roles_with_prefix, wait_for, wait_listening

TTL_S = 3  # storage.postgresql.ha_lock_ttl


class Node:
    def __init__(self, name, root_dir, pg, table, ha_table):
        self.name = name
        self.dir = os.path.join(root_dir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.key_file = os.path.join(self.dir, "unseal.key")
        os.close(os.open(self.key_file, os.O_WRONLY | os.O_CREAT, 0o600))
        url = f"postgresql://{pg['user']}:{pg['password']}@{pg['host']}:{pg['port']}/{pg['dbname']}"
        cfg = {"listener": {"tcp": {"address": f"127.0.0.1:{self.port}", "tls_disable": True}},
               "storage": {"postgresql": {"connection_url": url, "table": table, "ha_enabled": True,
                                          "ha_table": ha_table, "ha_lock_ttl": f"{TTL_S}s", "max_parallel": 24}},
               "api_addr": self.addr, "cluster_addr": f"https://127.0.0.1:{self.port + 1}",
               "unseal_key_file": self.key_file, "log_level": "info", "worker_threads": 32, "executor_threads": 16}
        self.config_path = os.path.join(self.dir, "config.json")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)
        self.proc = None
        self.log = open(os.path.join(self.dir, "server.log"), "a+")

    def start(self, env=None):
        """Starts the server (extra environment variables in `env`, e.g. CREDBROKER_CRASH_AT) and waits
        until it listens."""
        self.proc = subprocess.Popen([BIN, "server", "-config", self.config_path], stdout=self.log, stderr=self.log,
                                     env={**os.environ, **(env or {})})
        wait_listening(self.proc, self.port, self.name, self.logs)

    def health(self, query=""):
        try:
            return requests.get(f"{self.addr}/v1/sys/health{query}", timeout=2).status_code
        except requests.RequestException:
            return None

    def leader(self):
        return requests.get(f"{self.addr}/v1/sys/leader", timeout=2).json()

    def logs(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def signal(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def call(node, token, method, path, body=None, timeout=30):
    """One API request to `node`: (status, parsed JSON body or None)."""
    r = requests.request(method, f"{node.addr}/v1/{path}", json=body, headers={"X-Vault-Token": token},
                         timeout=timeout)
    return r.status_code, (r.json() if r.content else None)


def start_cluster(nodes, first_env=None):
    """Starts nodes[0] (with `first_env`), initialises the cluster through it, writes the unseal key to
    every node's key file, unseals it and waits until it is active; then starts the others and waits
    until each is a standby that names nodes[0] as the active. Returns init's answer (root_token,
    keys, keys_base64)."""
    first = nodes[0]
    first.start(first_env)
    # The first node of a new cluster takes the leadership (within a round of its loop) and can
    # then be initialised; before that, init answers that this node does not hold it.
    init = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(
        requests.put(f"{first.addr}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}, timeout=30)),
        20, "init through the first node")
    key = init.json()["keys"][0]
    for n in nodes:
        with open(n.key_file, "w") as f:
            f.write(key + "\n")
    # Sealed after init, as Vault; the others unseal themselves from their key files at start.
    r = requests.put(f"{first.addr}/v1/sys/unseal", json={"key": key}, timeout=30)
    if (r.status_code, r.json().get("sealed")) != (200, False):
        raise AssertionError(f"unseal of {first.name}: {r.status_code} {r.text}")
    wait_for(lambda: first.health() == 200, 20, f"{first.name} active")
    for n in nodes[1:]:
        n.start()
    for n in nodes[1:]:
        wait_for(lambda: n.health() == 429 and n.leader()["leader_address"] == first.addr, 20, f"{n.name} a standby")
    return init.json()


def drop_all(pg, tables, role_prefix, extra_roles=()):
    """Drops a test's tables and roles on the shared PostgreSQL. Another test's DDL running at the same
    time can make a catalog update fail with "tuple concurrently updated" (SQLSTATE XX000): tried
    again, a few times."""
    for attempt in range(5):
        try:
            with pg_connect(pg) as c, c.cursor() as cur:
                for t in tables:
                    cur.execute(f"DROP TABLE IF EXISTS {t} CASCADE")
                for name in roles_with_prefix(pg, role_prefix):
                    cur.execute(f'DROP ROLE IF EXISTS "{name}"')
                for name in extra_roles:
                    cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,))
                    cur.execute(f'DROP ROLE IF EXISTS "{name}"')
            return
        except psycopg2.errors.InternalError_:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
