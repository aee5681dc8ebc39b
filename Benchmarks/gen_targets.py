#!/usr/bin/env python3
"""Writes a TUF targets document with N entries (default 100 000, about 16 MB, keys in insertion order) for benchmarks.

Usage: gen_targets.py OUT [N]. The signature is a placeholder: the benchmarks parse and encode, not verify.
"""
import hashlib
import json
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
targets = {}
for i in range(n):
    path = f"releases/component-{i % 997:03d}/artifact-{i:06d}-linux-amd64.tar.gz"
    digest = hashlib.sha256(path.encode()).hexdigest()
    targets[path] = {
        "hashes": {"sha256": digest},
        "length": 1000 + i,
    }
doc = {
    "signatures": [{"keyid": "a" * 64, "sig": "b" * 128}],
    "signed": {
        "_type": "targets",
        "expires": "2030-01-01T00:00:00Z",
        "spec_version": "1.0.34",
        "targets": targets,
        "version": 1,
    },
}
with open(out, "w") as f:
    json.dump(doc, f, separators=(", ", ": "))
