"""Takeover time with 10^5 and 10^6 leases in storage (issue 18's benchmark). For each N: an HA pair
on fresh tables of the test PostgreSQL (scripts/test-servers.sh), a database mount on it, then N real
lease records written into the storage table through the cluster's barrier by bench_ha_seed_leases
(minutes of issuance otherwise); the active is killed with SIGKILL while a client asks the standby
for creds in a loop. Prints, per N: SIGKILL -> first successful creds through the standby (the new
active serves before its restore), the background restore's own time and count from the new active's
log, and its resident memory after the restore. Numbers go to docs/PERFORMANCE.md.
  . "$(scripts/test-servers.sh env)"; CREDBROKER_BIN=build/broker/credbroker \
    SEEDER=build/bench/bench_ha_seed_leases /usr/bin/python3 bench/ha_takeover.py [N ...]"""
import base64
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "support"))
from broker import pg_connect, pg_url, roles_with_prefix, shared_pg, wait_for  # noqa: E402
from ha_cluster import Node, start_cluster  # noqa: E402

SEEDER = os.environ.get("SEEDER", os.path.join(HERE, "..", "build", "bench", "bench_ha_seed_leases"))


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def one_run(pg, n):
    tag = secrets.token_hex(3)
    table, ha_table, prefix = f"hato_kv_{tag}", f"hato_ha_{tag}", f"hato{tag}-"
    root = tempfile.mkdtemp(prefix="credbroker-hatakeover-")
    nodes = [Node(x, root, pg, table, ha_table) for x in ("a", "b")]
    a, b = nodes
    try:
        body = start_cluster(nodes)
        h = {"X-Vault-Token": body["root_token"]}
        requests.post(f"{a.addr}/v1/sys/mounts/database", json={"type": "database"}, headers=h,
                      timeout=30).raise_for_status()
        requests.post(f"{a.addr}/v1/database/config/pg", headers=h, timeout=30, json={
            "plugin_name": "postgresql-database-plugin", "allowed_roles": "*", "connection_url": pg_url(pg),
            "username": pg["user"], "password": pg["password"], "max_open_connections": 4,
            "username_template": prefix + "{{random 12}}"}).raise_for_status()
        requests.post(f"{a.addr}/v1/database/roles/app", headers=h, timeout=30, json={
            "db_name": "pg", "default_ttl": "1h",
            "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN VALID UNTIL '{{expiration}}';"],
            "revocation_statements": ["DROP ROLE IF EXISTS \"{{name}}\";"]}).raise_for_status()
        requests.get(f"{b.addr}/v1/database/creds/app", headers=h, timeout=30).raise_for_status()

        key_hex = base64.b64decode(body["keys_base64"][0]).hex()
        url = f"postgresql://{pg['user']}:{pg['password']}@{pg['host']}:{pg['port']}/{pg['dbname']}"
        seeded = subprocess.run([SEEDER, table, str(n)], capture_output=True, text=True, check=True,
                                env={**os.environ, "CREDBROKER_SEED_CONNINFO": url, "CREDBROKER_SEED_KEY": key_hex})
        print(f"N={n}: {seeded.stdout.strip()}", flush=True)

        session = requests.Session()
        killed = time.monotonic()
        a.signal(signal.SIGKILL)
        a.proc.wait()
        while True:
            sent = time.monotonic()
            try:
                if session.get(f"{b.addr}/v1/database/creds/app", headers=h, timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if sent - killed > 60:
                raise AssertionError("no creds within 60 s of the kill")
            time.sleep(0.01)
        served = time.monotonic() - killed
        restored = wait_for(lambda: re.search(r"restored (\d+) leases in ([\d.]+)s", b.logs()), 600, "the restore")
        print(f"N={n}: SIGKILL -> first creds through the new active {served:.2f} s; restore in the background: "
              f"{restored.group(1)} leases in {restored.group(2)} s; new active RSS {rss_mb(b.proc.pid):.0f} MB",
              flush=True)
    finally:
        for x in nodes:
            x.stop()
        shutil.rmtree(root, True)
        with pg_connect(pg) as c, c.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"DROP TABLE IF EXISTS {ha_table}")
            for name in roles_with_prefix(pg, prefix):
                cur.execute(f'DROP ROLE IF EXISTS "{name}"')


def main():
    pg = shared_pg()
    for n in [int(x) for x in sys.argv[1:]] or [100000, 1000000]:
        one_run(pg, n)


if __name__ == "__main__":
    main()
