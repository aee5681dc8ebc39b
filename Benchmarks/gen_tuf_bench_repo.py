#!/usr/bin/env python3
"""Writes a signed, consistent-snapshot TUF repository with many targets for client benchmarks.

Usage: gen_tuf_bench_repo.py OUTDIR [N] [--bins B] [--target-bytes SIZE] [--compact] [--no-custom]

  N               number of targets (default 100000)
  --bins B        split the targets over B succinct hash bins (B a power of two, e.g. 256 -> bit_length 8)
                  instead of listing them all in top-level targets.json
  --target-bytes  size of the one target file that exists on disk (default 1048576)
  --compact       write metadata without whitespace (default: python-tuf's default, indent 1)
  --no-custom     leave out the per-target "custom" object ({"build": i, "channel": "stable"})

Sizes of targets.json for N=100000: 26.6 MB by default (same entries as gen_targets.py), 20.8 MB with
--compact, about 16 MB with --compact --no-custom.

Layout: OUTDIR/metadata/ (1.root.json, timestamp.json, 1.snapshot.json, 1.targets.json, 1.bins-XX.json),
OUTDIR/targets/ (only the benchmark's target, stored as DIR/SHA256.NAME), OUTDIR/root.json (the trusted
root), OUTDIR/bench.json ({"target": path, ...}). Only that one target has real content; the others are
listed with made-up hashes and lengths. Snapshot records length and sha256 of every targets file, so a
client needs no fixed size limit for the large targets.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from datetime import datetime, timezone
from urllib import parse

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

EXPIRES = datetime(2099, 1, 1, tzinfo=timezone.utc)


def target_path(i: int) -> str:
    return f"releases/component-{i % 997:03d}/artifact-{i:06d}-linux-amd64.tar.gz"


def content(size: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"bench-target:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main() -> int:
    parser = argparse.ArgumentParser(description="Generate a large TUF repository for benchmarks.")
    parser.add_argument("outdir")
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--bins", type=int, default=0)
    parser.add_argument("--target-bytes", type=int, default=1 << 20)
    parser.add_argument("--compact", action="store_true")
    parser.add_argument("--no-custom", action="store_true")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("N must be at least 1")
    bit_length = 0
    if args.bins:
        bit_length = args.bins.bit_length() - 1
        if args.bins < 2 or 1 << bit_length != args.bins or bit_length > 32:
            parser.error(f"--bins must be a power of two between 2 and 2^32, got {args.bins}")

    started = time.monotonic()
    serializer = JSONSerializer(compact=args.compact)
    meta_dir = os.path.join(args.outdir, "metadata")
    os.makedirs(meta_dir, exist_ok=True)

    signers = {role: CryptoSigner.generate_ed25519() for role in ("root", "timestamp", "snapshot", "targets")}
    root = Metadata(Root(expires=EXPIRES, consistent_snapshot=True))
    for role, signer in signers.items():
        root.signed.add_key(signer.public_key, role)
    root.sign(signers["root"])
    root_bytes = root.to_bytes(serializer)
    write(os.path.join(meta_dir, "1.root.json"), root_bytes)
    write(os.path.join(args.outdir, "root.json"), root_bytes)

    # The benchmark's target: real bytes, real hash.
    bench_path = target_path(0)
    bench_data = content(args.target_bytes)
    bench_info = TargetFile.from_data(bench_path, bench_data, ["sha256"])
    directory, _, name = bench_path.rpartition("/")
    write(os.path.join(args.outdir, "targets", directory, f"{bench_info.hashes['sha256']}.{name}"), bench_data)

    top = Metadata(Targets(expires=EXPIRES))
    roles: dict[str, Metadata[Targets]] = {"targets": top}
    bins_signer = None
    succinct = None
    if bit_length:
        bins_signer = CryptoSigner.generate_ed25519()
        succinct = SuccinctRoles([], 1, bit_length, "bins")
        top.signed.delegations = Delegations(keys={}, succinct_roles=succinct)
        top.signed.add_key(bins_signer.public_key)
        for bin_name in succinct.get_roles():
            roles[bin_name] = Metadata(Targets(expires=EXPIRES))

    for i in range(args.n):
        path = target_path(i)
        if i == 0:
            info = bench_info
        else:
            info = TargetFile(1000 + i, {"sha256": hashlib.sha256(path.encode()).hexdigest()}, path)
        if not args.no_custom:
            info.unrecognized_fields["custom"] = {"build": i, "channel": "stable"}
        owner = succinct.get_role_for_target(path) if succinct else "targets"
        roles[owner].signed.targets[path] = info

    snapshot_meta: dict[str, MetaFile] = {}
    sizes: dict[str, int] = {}
    for role_name, md in roles.items():
        md.sign(signers["targets"] if role_name == "targets" else bins_signer)  # type: ignore[arg-type]
        data = md.to_bytes(serializer)
        write(os.path.join(meta_dir, f"1.{parse.quote(role_name, '')}.json"), data)
        snapshot_meta[f"{role_name}.json"] = MetaFile.from_data(1, data, ["sha256"])
        sizes[role_name] = len(data)

    snapshot = Metadata(Snapshot(expires=EXPIRES, meta=snapshot_meta))
    snapshot.sign(signers["snapshot"])
    snapshot_bytes = snapshot.to_bytes(serializer)
    write(os.path.join(meta_dir, "1.snapshot.json"), snapshot_bytes)

    timestamp = Metadata(Timestamp(expires=EXPIRES, snapshot_meta=MetaFile.from_data(1, snapshot_bytes, ["sha256"])))
    timestamp.sign(signers["timestamp"])
    write(os.path.join(meta_dir, "timestamp.json"), timestamp.to_bytes(serializer))

    bench = {
        "target": bench_path,
        "sha256": bench_info.hashes["sha256"],
        "length": bench_info.length,
        "targets": args.n,
        "bins": args.bins,
        "bin_role": succinct.get_role_for_target(bench_path) if succinct else None,
    }
    with open(os.path.join(args.outdir, "bench.json"), "w", encoding="utf-8") as f:
        json.dump(bench, f, indent=2)
        f.write("\n")

    elapsed = time.monotonic() - started
    bins_total = sum(v for k, v in sizes.items() if k != "targets")
    print(
        f"tuf_bench_repo targets={args.n} bins={args.bins} targets_json_bytes={sizes['targets']} "
        f"bins_json_bytes_total={bins_total} snapshot_json_bytes={len(snapshot_bytes)} seconds={elapsed:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
