#!/usr/bin/env python3
"""Times two commands alternately (A, B, A, B, ...) so that a change in the machine's speed during the
run affects both alike; prints "KEY MEDIAN_MS MIN_MS" for each.

usage: interleave.py RUNS WARMUP KEY_A PREPARE_A COMMAND_A KEY_B PREPARE_B COMMAND_B

Each command and prepare step is a sh command line (as hyperfine runs them by default); prepare steps
run before every run of their command and are not timed. A command that fails stops the script with
its stderr.
"""
import statistics
import subprocess
import sys
import time


def run(prepare, command):
    if prepare:
        subprocess.run(["sh", "-c", prepare], check=True, stdout=subprocess.DEVNULL)
    start = time.perf_counter()
    done = subprocess.run(["sh", "-c", command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace"))
        sys.exit(f"failed ({done.returncode}): {command}")
    return elapsed * 1000.0


def main():
    runs, warmup = int(sys.argv[1]), int(sys.argv[2])
    a = sys.argv[3:6]
    b = sys.argv[6:9]
    times = {a[0]: [], b[0]: []}
    for i in range(warmup + runs):
        order = (a, b) if i % 2 == 0 else (b, a)
        for key, prepare, command in order:
            t = run(prepare, command)
            if i >= warmup:
                times[key].append(t)
    for key in (a[0], b[0]):
        print(f"{key} {statistics.median(times[key]):.2f} {min(times[key]):.2f}")


if __name__ == "__main__":
    main()
