#!/usr/bin/python3
"""Runs one client of the matrix against a fresh credbroker server and checks what no client test
can check alone.

  run_client.py COMMAND [ARGS...]      (run in the client's folder; ctest does this)

1. Starts `credbroker server -config` with SQLite storage in a temporary directory, listening on a
   free loopback port, uninitialised: the client itself calls init, unseal and seal.
2. Runs COMMAND with, besides the caller's environment (the database settings of
   scripts/test-servers.sh among them):
     VAULT_ADDR                  http://127.0.0.1:<port>
     CREDBROKER_CLIENT_SECRETS   a file the client appends every secret it is given to, one per line
                                 (passwords, tokens, secret IDs, unseal keys)
     CREDBROKER_CLIENT_WORKDIR   an empty directory of the client's own (rendered files, ...)
     CREDBROKER_CLIENT_BROKER_PID the server's process id (for tests that signal it)
3. Fails when COMMAND exits non-zero, when the server did not stop cleanly on SIGTERM, or when any
   recorded secret appears in the server's logs or in the client's output. The client's output is
   printed with every recorded secret masked, and the temporary directory (secrets file included)
   is deleted.
A missing server, binary or setting is a failure, never a skip."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def fail(message):
    print(f"run_client: FAIL: {message}", flush=True)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc, addr, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(addr + "/v1/sys/seal-status", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def main():
    command = sys.argv[1:]
    if not command:
        fail("usage: run_client.py COMMAND [ARGS...]")
    binary = os.environ.get("CREDBROKER_BIN", "")
    if not binary or not os.access(binary, os.X_OK):
        fail("CREDBROKER_BIN is not set to the credbroker binary")
    for name in ("CREDBROKER_TEST_PG_PORT", "CREDBROKER_TEST_REDIS_PORT"):
        if not os.environ.get(name):
            fail(f"{name} is not set: run scripts/test-servers.sh start and source its env file")

    work = tempfile.mkdtemp(prefix="credbroker-client-")
    port = free_port()
    addr = f"http://127.0.0.1:{port}"
    config = {"listener": {"tcp": {"address": f"127.0.0.1:{port}", "tls_disable": True}},
              "storage": {"sqlite": {"path": os.path.join(work, "data")}},
              "api_addr": addr, "log_level": "debug"}
    config_path = os.path.join(work, "config.json")
    with open(config_path, "w") as f:
        json.dump(config, f)
    secrets_path = os.path.join(work, "secrets")
    open(secrets_path, "w").close()
    client_dir = os.path.join(work, "client")
    os.mkdir(client_dir)

    server_log = open(os.path.join(work, "server.log"), "w+")
    server = subprocess.Popen([binary, "server", "-config", config_path], stdout=server_log, stderr=subprocess.STDOUT)
    try:
        if not wait_listening(server, addr):
            server_log.seek(0)
            fail(f"the server did not answer on {addr}:\n{server_log.read()[-4000:]}")
        env = {**os.environ, "VAULT_ADDR": addr, "CREDBROKER_CLIENT_SECRETS": secrets_path,
               "CREDBROKER_CLIENT_WORKDIR": client_dir, "CREDBROKER_CLIENT_BROKER_PID": str(server.pid)}
        env.pop("VAULT_TOKEN", None)
        started = time.time()
        client = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=840)
        elapsed = time.time() - started
    except subprocess.TimeoutExpired as e:
        client = None
        timeout_output = e.output or b""
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    with open(secrets_path) as f:
        recorded = sorted({line.strip() for line in f if len(line.strip()) >= 8}, key=len, reverse=True)
    output = (client.stdout if client is not None else timeout_output).decode("utf-8", "replace")
    masked = output
    for s in recorded:
        masked = masked.replace(s, "[recorded secret]")
    print(masked, flush=True)
    server_log.seek(0)
    log = server_log.read()

    problems = []
    if client is None:
        problems.append("the client did not finish within 840 s")
    elif client.returncode != 0:
        problems.append(f"the client exited with {client.returncode}")
    if server.returncode != 0:
        problems.append(f"the server exited with {server.returncode} after SIGTERM (0 expected)")
    if not recorded and client is not None and client.returncode == 0:
        problems.append("the client recorded no secret in CREDBROKER_CLIENT_SECRETS")
    leaked_log = [s for s in recorded if s in log]
    leaked_out = [s for s in recorded if s in output]
    if leaked_log:
        problems.append(f"{len(leaked_log)} recorded secret(s) appear in the server's log")
    if leaked_out:
        problems.append(f"{len(leaked_out)} recorded secret(s) appear in the client's output")
    server_log.close()
    shutil.rmtree(work, ignore_errors=True)  # it holds the recorded secrets
    if problems:
        tail = log[-6000:]
        for s in recorded:
            tail = tail.replace(s, "[recorded secret]")
        print("---- server log (tail, secrets masked) ----\n" + tail, flush=True)
        fail("; ".join(problems))
    print(f"run_client: ok: {len(recorded)} secrets recorded, none in the logs or output; client took {elapsed:.1f}s")


if __name__ == "__main__":
    main()
