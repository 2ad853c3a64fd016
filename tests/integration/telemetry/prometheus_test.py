"""sys/metrics scraped by Debian's real Prometheus server: the broker (SQLite storage) issues
PostgreSQL credentials on the real PostgreSQL of scripts/test-servers.sh; Prometheus, started here on
loopback with compose/prometheus-rules.yml, scrapes ?format=prometheus with a token whose policy
reads sys/metrics, and its HTTP API must answer for the series. promtool checks the scraped text,
the alert rules (check rules, and the unit tests of rules_test.yml), and the Grafana dashboard parses
and uses only documented metrics. Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker, configure_postgres, free_port, pg_connect, shared_pg, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
COMPOSE = os.path.join(ROOT, "compose")
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
CREATION = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]


def metric_names(text):
    """Every vault_* and credbroker_* name a PromQL text mentions, without histogram suffixes."""
    names = set()
    for n in re.findall(r"\b((?:vault|credbroker)_[A-Za-z0-9_]+)", text):
        names.add(re.sub(r"_(bucket|sum|count)$", "", n))
    return names


class PrometheusScrape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in (PROMETHEUS, PROMTOOL):
            if not os.access(tool, os.X_OK):
                raise AssertionError(f"{tool} is missing: run scripts/install-deps.sh (Debian's prometheus)")
        cls.pg = shared_pg()
        cls.dir = tempfile.mkdtemp(prefix="credbroker-prom-")
        cls.broker = Broker({"telemetry": {"usage_gauge_period": "1s", "prometheus_retention_time": "1h"},
                             "cluster_name": "it-cluster"}).start()
        client = cls.broker.client()
        client.sys.enable_secrets_engine("database")
        configure_postgres(client, "pg", cls.pg)
        client.secrets.database.create_role(name="app", db_name="pg", creation_statements=CREATION,
                                            default_ttl="1h", max_ttl="2h")
        cls.usernames = []
        for _ in range(3):
            creds = client.secrets.database.generate_credentials(name="app")
            cls.usernames.append(creds["data"]["username"])
        # The token Prometheus scrapes with: read on sys/metrics, nothing else.
        client.sys.create_or_update_policy("prometheus-metrics", 'path "sys/metrics" { capabilities = ["read"] }')
        cls.metrics_token = client.auth.token.create(policies=["prometheus-metrics"], ttl="1h")["auth"]["client_token"]
        token_file = os.path.join(cls.dir, "token")
        with open(token_file, "w") as f:
            f.write(cls.metrics_token)
        shutil.copy(os.path.join(COMPOSE, "prometheus-rules.yml"), os.path.join(cls.dir, "rules.yml"))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [os.path.join(cls.dir, "rules.yml")],
            "scrape_configs": [{
                "job_name": "credbroker", "metrics_path": "/v1/sys/metrics", "params": {"format": ["prometheus"]},
                "authorization": {"type": "Bearer", "credentials_file": token_file},
                "static_configs": [{"targets": [f"127.0.0.1:{cls.broker.port}"]}],
            }],
        }
        config_path = os.path.join(cls.dir, "prometheus.yml")
        with open(config_path, "w") as f:
            json.dump(config, f)  # JSON is YAML
        cls.prom_port = free_port()
        cls.prom_addr = f"http://127.0.0.1:{cls.prom_port}"
        cls.prom_log = open(os.path.join(cls.dir, "prometheus.log"), "w+")
        cls.prom = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config_path}", f"--storage.tsdb.path={os.path.join(cls.dir, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{cls.prom_port}"],
            stdout=cls.prom_log, stderr=subprocess.STDOUT)

    @classmethod
    def tearDownClass(cls):
        cls.prom.terminate()
        try:
            cls.prom.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cls.prom.kill()
            cls.prom.wait()
        cls.prom_log.close()
        cls.broker.destroy()
        shutil.rmtree(cls.dir, ignore_errors=True)
        with pg_connect(cls.pg) as c, c.cursor() as cur:
            for u in cls.usernames:
                cur.execute(f'DROP ROLE IF EXISTS "{u}"')

    def query(self, promql):
        """The instant vector of a PromQL query, as {labels-tuple: value}."""
        r = requests.get(self.prom_addr + "/api/v1/query", params={"query": promql}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertEqual(body["status"], "success", body)
        return {tuple(sorted(s["metric"].items())): float(s["value"][1]) for s in body["data"]["result"]}

    def eventually(self, promql, check, what, timeout=60):
        def ok():
            try:
                result = self.query(promql)
            except requests.RequestException:
                return None
            return result if result and check(result) else None
        try:
            return wait_for(ok, timeout, what, interval=0.5)
        except AssertionError:
            self.prom_log.seek(0)
            raise AssertionError(f"{what}: {promql} -> {self.query(promql)!r}\nprometheus log:\n{self.prom_log.read()[-3000:]}")

    def scrape(self, token):
        return requests.get(self.broker.addr + "/v1/sys/metrics", params={"format": "prometheus"},
                            headers={"X-Vault-Token": token} if token else {}, timeout=10)

    def test_prometheus_scrapes_the_series(self):
        self.eventually('up{job="credbroker"}', lambda r: list(r.values()) == [1.0], "the broker scraped")
        unsealed = self.eventually("vault_core_unsealed", lambda r: True, "vault_core_unsealed")
        self.assertEqual(list(unsealed.items()),
                         [((("__name__", "vault_core_unsealed"), ("cluster", "it-cluster"),
                            ("instance", f"127.0.0.1:{self.broker.port}"), ("job", "credbroker")), 1.0)])
        self.eventually('credbroker_leases{mount="database/",role="app",state="active"}',
                        lambda r: list(r.values()) == [3.0], "three active leases of database/app")
        self.eventually("vault_expire_num_leases", lambda r: list(r.values()) == [3.0], "vault_expire_num_leases")
        self.eventually('sum(vault_secret_lease_creation{secret_engine="database",mount_point="database/"})',
                        lambda r: list(r.values()) == [3.0], "vault_secret_lease_creation")
        # Vault's vault.database.NewUser, in snake_case as promtool's lint wants (prometheus_text.hpp).
        self.eventually("vault_database_new_user_count", lambda r: list(r.values()) == [3.0], "vault_database_new_user")
        self.eventually("vault_database_postgres_new_user_count", lambda r: list(r.values()) == [3.0],
                        "vault_database_postgres_new_user")
        self.eventually("vault_route_read_database__count", lambda r: list(r.values())[0] >= 3, "vault_route_read_database_")
        self.eventually("vault_audit_log_request_failure", lambda r: list(r.values()) == [0.0], "audit failures at 0")
        self.eventually("vault_expire_num_irrevocable_leases", lambda r: list(r.values()) == [0.0], "no irrevocable lease")
        self.eventually('credbroker_database_pool_max_open_connections{mount="database/",connection="pg"}',
                        lambda r: list(r.values()) == [4.0], "the pool of database/pg")
        self.eventually('sum(credbroker_http_requests_total{code="200"})', lambda r: list(r.values())[0] >= 3,
                        "HTTP 200s counted")
        self.eventually('histogram_quantile(0.5, sum by (le) (rate(credbroker_http_request_duration_seconds_bucket[1m])))',
                        lambda r: list(r.values())[0] > 0, "an HTTP latency quantile")
        self.eventually("credbroker_storage_commit_duration_seconds_count", lambda r: list(r.values())[0] > 0,
                        "storage commits timed")

    def test_the_alert_rules_load_and_evaluate(self):
        def loaded():
            r = requests.get(self.prom_addr + "/api/v1/rules", timeout=10).json()
            rules = [rule for g in r["data"]["groups"] for rule in g["rules"]]
            return rules if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules) else None
        rules = wait_for(loaded, 60, "the rules evaluated")
        names = {rule["name"] for rule in rules}
        for alert in ("CredbrokerSealed", "CredbrokerAuditRequestFailures", "CredbrokerIrrevocableLeases",
                      "CredbrokerExpiryLagHigh", "CredbrokerRotationFailures"):
            self.assertIn(alert, names)
        self.assertEqual([(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"], [])
        self.eventually('up{job="credbroker"}', lambda r: True, "a scrape")
        time.sleep(2)  # two evaluations after the scrape
        firing = requests.get(self.prom_addr + "/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        self.assertEqual([a["labels"]["alertname"] for a in firing], [])  # a healthy broker

    def test_promtool_check_metrics_passes_on_the_output(self):
        r = self.scrape(self.metrics_token)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=r.content, capture_output=True, timeout=60)
        self.assertEqual((check.returncode, check.stdout + check.stderr), (0, b""))

    def test_metrics_need_a_token_that_may_read_them(self):
        self.assertEqual(self.scrape(None).status_code, 403)
        other = self.broker.client().auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
        self.assertEqual(self.scrape(other).status_code, 403)
        self.assertEqual(self.scrape(self.broker.root_token).status_code, 200)
        r = requests.get(self.broker.addr + "/v1/sys/metrics", headers={"X-Vault-Token": self.metrics_token}, timeout=10)
        self.assertEqual(r.headers["Content-Type"], "application/json")
        body = r.json()
        self.assertEqual(sorted(body), ["Counters", "Gauges", "Points", "Samples", "Timestamp"])
        self.assertIn("vault.core.unsealed", [g["Name"] for g in body["Gauges"]])


class CheckedFiles(unittest.TestCase):
    """compose/'s Prometheus rules and Grafana dashboard, checked without a broker."""

    def documented(self):
        with open(os.path.join(ROOT, "docs", "telemetry.md")) as f:
            return metric_names(f.read())

    def test_promtool_checks_the_rules(self):
        r = subprocess.run([PROMTOOL, "check", "rules", os.path.join(COMPOSE, "prometheus-rules.yml")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_promtool_unit_tests_of_the_rules(self):
        r = subprocess.run([PROMTOOL, "test", "rules", "rules_test.yml"], cwd=HERE, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_rules_use_documented_metrics(self):
        with open(os.path.join(COMPOSE, "prometheus-rules.yml")) as f:
            used = metric_names(f.read())
        self.assertTrue(used)
        self.assertEqual(sorted(used - self.documented()), [])

    def test_grafana_dashboard_parses_and_uses_documented_metrics(self):
        with open(os.path.join(COMPOSE, "grafana-dashboard.json")) as f:
            dash = json.load(f)
        self.assertTrue(dash["title"])
        exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
        self.assertGreaterEqual(len(exprs), 8)
        used = set()
        for e in exprs:
            used |= metric_names(e)
        self.assertEqual(sorted(used - self.documented()), [])


if __name__ == "__main__":
    unittest.main()
