#!/usr/bin/env python3
"""Peer for `signet-bench json`: json.loads + securesystemslib canonical encoding of the same file."""
import sys
import time

from securesystemslib.formats import encode_canonical

data = open(sys.argv[1], "rb").read()
best_parse = best_encode = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    import json
    value = json.loads(data)
    t1 = time.perf_counter()
    out = encode_canonical(value)
    t2 = time.perf_counter()
    best_parse = min(best_parse, t1 - t0)
    best_encode = min(best_encode, t2 - t1)
print(f"python_json_loads bytes={len(data)} best_ms={best_parse * 1000:.1f}")
print(f"python_encode_canonical bytes={len(out.encode())} best_ms={best_encode * 1000:.1f}")
