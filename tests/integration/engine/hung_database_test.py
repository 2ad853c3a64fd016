"""A hung database delays only its own connection's work (issue 16). One connection reaches the
real Redis through a proxy that, once switched, accepts and reads but never answers again - a
database that hangs with its sockets open. While issuance and revocations on that connection hang,
another connection on the same mount issues, renews and revokes, and another mount is enabled,
tuned and disabled; every one of those answers while every hung call is still hanging. No timing
is asserted (the machine is shared); the rates are printed for the record.
Run with Debian's /usr/bin/python3; CREDBROKER_BIN names the binary."""
import os
import secrets
import socket
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broker import Broker, configure_redis, redis_admin, redis_users, shared_redis, wait_for  # noqa: E402

HUNG_ISSUANCES = 12  # more than the hung connection's pool, fewer than the request workers
GOOD_ROUNDS = 150


class HangingProxy:
    """TCP proxy to host:port. hang() stops every byte in both directions for good: reads go on
    (so the peer's writes succeed) but nothing is forwarded or answered. release() closes all."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.hung = threading.Event()
        self.released = threading.Event()
        self.swallowed = 0  # bytes read while hung
        self.lock = threading.Lock()
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.released.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = None if self.hung.is_set() else socket.create_connection(self.target)
            with self.lock:
                self.sockets += [s for s in (client, upstream) if s is not None]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            if upstream is not None:
                threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, src, dst):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            if self.hung.is_set() or dst is None:
                with self.lock:
                    self.swallowed += len(data)
                continue
            try:
                dst.sendall(data)
            except OSError:
                return

    def hang(self):
        self.hung.set()

    def release(self):
        self.released.set()
        # shutdown() first: on Linux it wakes the thread blocked in accept(), which close() alone
        # does not, and the kernel would go on accepting into the backlog.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass


class HungDatabase(unittest.TestCase):
    def test_a_hung_connection_delays_only_its_own_work(self):
        r = shared_redis()
        proxy = HangingProxy(r["host"], r["port"])
        broker = Broker()
        self.addCleanup(broker.destroy)
        self.addCleanup(proxy.release)  # first: the broker's shutdown waits for its hung calls
        broker.start()
        client = broker.client()
        client.sys.enable_secrets_engine("database")
        prefix_good = "HUNGG" + secrets.token_hex(3).upper() + "_"
        prefix_slow = "HUNGS" + secrets.token_hex(3).upper() + "_"
        # The slow connection's users outlive the test (their revocations failed): removed here.
        self.addCleanup(lambda: [redis_admin(r).acl_deluser(u) for u in redis_users(r, r["port"], prefix_slow)])
        configure_redis(client, "good", r, with_replica=False, username_template=prefix_good + "{{random 20}}")
        configure_redis(client, "slow", {**r, "host": "127.0.0.1", "port": proxy.port}, with_replica=False,
                        username_template=prefix_slow + "{{random 20}}", connect_timeout=120, max_open_connections=2)
        for name in ("good", "slow"):
            client.secrets.database.create_role(name=name, db_name=name, default_ttl="1h",
                                                creation_statements=['["~hung:*", "+@read"]'])
        headers = {"X-Vault-Token": broker.root_token}
        local = threading.local()

        def call(method, path, body=None, timeout=300):
            s = getattr(local, "s", None) or requests.Session()
            local.s = s
            return s.request(method, f"{broker.addr}/v1/{path}", json=body, headers=headers, timeout=timeout)

        # Leases on the slow connection while it still answers: their revocations will hang.
        slow_leases = []
        for _ in range(3):
            res = call("GET", "database/creds/slow")
            self.assertEqual(res.status_code, 200, res.text)
            slow_leases.append(res.json()["lease_id"])

        def good_round(_):
            res = call("GET", "database/creds/good")
            self.assertEqual(res.status_code, 200, res.text)
            lease = res.json()["lease_id"]
            res = call("PUT", "sys/leases/renew", {"lease_id": lease, "increment": 600})
            self.assertEqual(res.status_code, 200, res.text)
            res = call("PUT", "sys/leases/revoke", {"lease_id": lease})
            self.assertEqual(res.status_code, 204, res.text)

        def good_rate():
            t0 = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(good_round, range(GOOD_ROUNDS)))
            return GOOD_ROUNDS / (time.monotonic() - t0)

        before = good_rate()

        proxy.hang()
        hung_pool = ThreadPoolExecutor(HUNG_ISSUANCES + len(slow_leases))
        hung = [hung_pool.submit(call, "GET", "database/creds/slow") for _ in range(HUNG_ISSUANCES)]
        hung += [hung_pool.submit(call, "PUT", "sys/leases/revoke", {"lease_id": lease}) for lease in slow_leases]
        # The broker has sent the hung connection something it will never answer.
        wait_for(lambda: proxy.swallowed > 0, 30, "a call on the hung connection")

        during = good_rate()
        for i in range(3):  # mount changes on another mount while the hung calls wait
            path = f"other{i}"
            res = call("POST", f"sys/mounts/{path}", {"type": "database"})
            self.assertEqual(res.status_code, 204, res.text)
            res = call("POST", f"sys/mounts/{path}/tune", {"default_lease_ttl": "30m"})
            self.assertEqual(res.status_code, 204, res.text)
            res = call("DELETE", f"sys/mounts/{path}")
            self.assertEqual(res.status_code, 204, res.text)

        still_hanging = sum(1 for f in hung if not f.done())
        print(f"good rounds/s (creds + renew + revoke): {before:.0f} before, {during:.0f} while "
              f"{still_hanging} calls hang on the other connection", file=sys.stderr)
        self.assertEqual(still_hanging, len(hung), "a hung call returned before the database answered: "
                         + "; ".join(f.result().text for f in hung if f.done()))

        # Released: the hung calls fail (the connection is gone), none succeeds, nothing is left.
        proxy.release()
        results = [f.result() for f in hung]
        hung_pool.shutdown()
        for res in results:
            self.assertNotIn(res.status_code, (200, 204), res.text)
        # Good users were revoked one by one above; none is left.
        self.assertEqual(redis_users(r, r["port"], prefix_good), [])
        logs = broker.all_logs()
        self.assertNotIn(r["password"], logs)


if __name__ == "__main__":
    unittest.main()
