"""Issuance through an HA standby (forwarded to the active) against the active itself, and against a
single server on PostgreSQL storage without HA (what HA's durable lease activation costs), same run.
Two credbroker servers in HA mode on the test PostgreSQL (scripts/test-servers.sh), a PostgreSQL
role without a password (the database's fast path, so the broker's and the forwarding's cost show),
wrk at 8 connections for DURATION seconds against each node, alternated twice; prints creds/s and
the ratios standby / active and active / single. Numbers go to docs/PERFORMANCE.md.
  . "$(scripts/test-servers.sh env)"; CREDBROKER_BIN=build/broker/credbroker /usr/bin/python3 bench/ha_standby.py"""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "support"))
from broker import pg_connect, pg_url, roles_with_prefix, shared_pg, wait_for  # noqa: E402
from ha_cluster import Node  # noqa: E402

DURATION = int(os.environ.get("DURATION", "10"))


def wrk(url, token):
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{DURATION}s", "-H", f"X-Vault-Token: {token}", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, int(non2xx.group(1)) if non2xx else 0


def configure(addr, h):
    pg, prefix = CONF["pg"], CONF["prefix"]
    requests.post(f"{addr}/v1/sys/mounts/database", json={"type": "database"}, headers=h, timeout=30)
    requests.post(f"{addr}/v1/database/config/pg", headers=h, timeout=30, json={
        "plugin_name": "postgresql-database-plugin", "allowed_roles": "*", "connection_url": pg_url(pg),
        "username": pg["user"], "password": pg["password"], "max_open_connections": 8,
        "username_template": prefix + "{{random 12}}"})
    requests.post(f"{addr}/v1/database/roles/app", headers=h, timeout=30, json={
        "db_name": "pg", "default_ttl": "1h",
        "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN VALID UNTIL '{{expiration}}';"],
        "revocation_statements": ["DROP ROLE IF EXISTS \"{{name}}\";"]}).raise_for_status()


CONF = {}


def main():
    pg = shared_pg()
    tag = secrets.token_hex(3)
    table, ha_table, prefix = f"hab_kv_{tag}", f"hab_ha_{tag}", f"hab{tag}-"
    CONF.update(pg=pg, prefix=prefix)
    root = tempfile.mkdtemp(prefix="credbroker-habench-")
    nodes = [Node(n, root, pg, table, ha_table) for n in ("a", "b")]
    try:
        a, b = nodes
        a.start()
        init = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(
            requests.put(f"{a.addr}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}, timeout=30)),
            20, "init")
        key, token = init.json()["keys"][0], init.json()["root_token"]
        for n in nodes:
            with open(n.key_file, "w") as f:
                f.write(key + "\n")
        requests.put(f"{a.addr}/v1/sys/unseal", json={"key": key}, timeout=30)
        wait_for(lambda: a.health() == 200, 20, "a active")
        b.start()
        wait_for(lambda: b.health() == 429 and b.leader()["leader_address"] == a.addr, 20, "b standby")
        configure(a.addr, {"X-Vault-Token": token})
        # The single server: the same storage without HA, on a table of its own.
        single = Node("single", root, pg, table + "_single", ha_table + "_single")
        nodes.append(single)
        with open(single.config_path) as f:
            cfg = json.load(f)
        cfg["storage"]["postgresql"]["ha_enabled"] = False
        with open(single.config_path, "w") as f:
            json.dump(cfg, f)
        single.start()
        sinit = requests.put(f"{single.addr}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}, timeout=30)
        requests.put(f"{single.addr}/v1/sys/unseal", json={"key": sinit.json()["keys"][0]}, timeout=30)
        wait_for(lambda: single.health() == 200, 20, "single unsealed")
        configure(single.addr, {"X-Vault-Token": sinit.json()["root_token"]})
        tokens = {"active": token, "standby": token, "single": sinit.json()["root_token"]}
        results = {"active": [], "standby": [], "single": []}
        for _ in range(2):
            for name, node in (("active", a), ("standby", b), ("single", single)):
                rate, bad = wrk(f"{node.addr}/v1/database/creds/app", tokens[name])
                results[name].append(rate)
                print(f"{name:8} {rate:8.0f} creds/s ({bad} non-2xx)")
        act, stb = max(results["active"]), max(results["standby"])
        sgl = max(results["single"])
        print(f"best of 2: active {act:.0f} creds/s, through the standby {stb:.0f} creds/s (ratio {stb / act:.2f}), "
              f"single server without HA {sgl:.0f} creds/s (active / single {act / sgl:.2f})")
    finally:
        for n in nodes:
            n.stop()
        with pg_connect(pg) as c, c.cursor() as cur:
            for t in (table, ha_table, table + "_single", ha_table + "_single"):
                cur.execute(f"DROP TABLE IF EXISTS {t}")
            for name in roles_with_prefix(pg, prefix):
                cur.execute(f'DROP ROLE IF EXISTS "{name}"')
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
