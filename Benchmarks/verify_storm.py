#!/usr/bin/env python3
"""Runs COUNT `signet verify` processes, CONCURRENCY at a time, and reports what the registry served.

Usage: verify_storm.py SIGNET REF ROOT_FILE REGISTRY_LOG REGISTRY_PID COUNT CONCURRENCY warm|cold WORKDIR

warm: each concurrent worker is one node with its own SIGNET_HOME, verified once before the run (not
      counted), then verifying REF again and again.
cold: every verify starts from an empty SIGNET_HOME with --root ROOT_FILE (a new node).
Reports one line of key=value pairs: verifies, failures, requests and response-body bytes per verify
(from the registry's access log lines written during the run; HEAD answers carry no body), p50/p99/max latency in ms, wall seconds, and the
registry's CPU time per verify in ms (utime+stime of REGISTRY_PID over the run).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def log_lines(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace").splitlines()


def served(lines):
    requests = body = 0
    for line in lines:
        try:
            start = line.index('"')
            end = line.index('"', start + 1)
        except ValueError:
            continue
        parts = line[start + 1:end].split(" ")
        rest = line[end + 1:].split()
        if len(parts) != 3 or not parts[1].startswith("/v2/") or len(rest) < 2:
            continue
        requests += 1
        # The access log gives the Content-Length for HEAD too; no body is sent then.
        if parts[0] != "HEAD" and rest[1].isdigit():
            body += int(rest[1])
    return requests, body


def main():
    signet, ref, root_file, log, pid, count, conc, mode, work = sys.argv[1:10]
    count, conc, pid = int(count), int(conc), int(pid)
    env = dict(os.environ)
    homes = []
    if mode == "warm":
        for i in range(conc):
            home = os.path.join(work, f"node{i}")
            subprocess.run([signet, "verify", "--root", root_file, ref], env={**env, "SIGNET_HOME": home},
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            homes.append(home)
    latencies = []
    failures = 0

    def one(i):
        if mode == "warm":
            home, args = homes[i % conc], [signet, "verify", ref]
        else:
            home = tempfile.mkdtemp(dir=work)
            args = [signet, "verify", "--root", root_file, ref]
        t0 = time.monotonic()
        r = subprocess.run(args, env={**env, "SIGNET_HOME": home}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.monotonic() - t0
        if mode == "cold":
            shutil.rmtree(home, ignore_errors=True)
        return elapsed, r.returncode

    before_lines = len(log_lines(log))
    ticks0 = cpu_ticks(pid)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=conc) as pool:
        for elapsed, code in pool.map(one, range(count)):
            latencies.append(elapsed)
            failures += code != 0
    wall = time.monotonic() - t0
    time.sleep(0.2)  # the registry writes its access log line after answering
    ticks = cpu_ticks(pid) - ticks0
    requests, body = served(log_lines(log)[before_lines:])
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    hz = os.sysconf("SC_CLK_TCK")
    print(f"mode={mode} verifies={count} concurrency={conc} failures={failures} "
          f"requests_per_verify={requests / count:.2f} body_bytes_per_verify={body / count:.0f} "
          f"p50_ms={pick(0.5):.1f} p99_ms={pick(0.99):.1f} max_ms={latencies[-1] * 1000:.1f} wall_s={wall:.2f} "
          f"verifies_per_s={count / wall:.1f} registry_cpu_ms_per_verify={ticks * 1000 / hz / count:.2f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
