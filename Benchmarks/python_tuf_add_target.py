#!/usr/bin/env python3
"""Peer for the add-target benchmark: python-tuf's Metadata API adds one target to a repository with a
large top-level targets role and re-signs targets, snapshot and timestamp (ed25519 keys, consistent snapshots).

Usage: python_tuf_add_target.py setup DIR N   (writes a repository and its keys)
       python_tuf_add_target.py add DIR       (the measured operation)
"""
import hashlib
import json
import os
import sys
from datetime import datetime, timedelta, timezone

from securesystemslib.signer import CryptoSigner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer

ROLES = ["root", "targets", "snapshot", "timestamp"]


def signer_for(directory, role):
    with open(os.path.join(directory, "keys", role + ".pem"), "rb") as f:
        private = serialization.load_pem_private_key(f.read(), None)
    return CryptoSigner(private)


def setup(directory, n):
    os.makedirs(os.path.join(directory, "keys"))
    os.makedirs(os.path.join(directory, "metadata"))
    expiry = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    signers = {}
    for role in ROLES:
        private = Ed25519PrivateKey.generate()
        with open(os.path.join(directory, "keys", role + ".pem"), "wb") as f:
            f.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        signers[role] = CryptoSigner(private)
    root = Metadata(Root(expires=expiry))
    root.signed.consistent_snapshot = True
    for role in ROLES:
        root.signed.add_key(signers[role].public_key, role)
    targets = Metadata(Targets(expires=expiry))
    for i in range(n):
        path = f"releases/component-{i % 997}/artifact-{i}-linux-amd64.tar.gz"
        targets.signed.targets[path] = TargetFile(1000 + i, {"sha256": hashlib.sha256(path.encode()).hexdigest()}, path)
    write_all(directory, root, targets, Metadata(Snapshot(expires=expiry)), Metadata(Timestamp(expires=expiry)), signers)


def write_all(directory, root, targets, snapshot, timestamp, signers):
    meta = os.path.join(directory, "metadata")
    ser = JSONSerializer(compact=True)
    if root is not None:
        root.sign(signers["root"])
        root.to_file(os.path.join(meta, f"{root.signed.version}.root.json"), ser)
    targets.sign(signers["targets"])
    data = targets.to_bytes(ser)
    with open(os.path.join(meta, f"{targets.signed.version}.targets.json"), "wb") as f:
        f.write(data)
    snapshot.signed.meta["targets.json"] = MetaFile(targets.signed.version, len(data), {"sha256": hashlib.sha256(data).hexdigest()})
    snapshot.sign(signers["snapshot"])
    snap = snapshot.to_bytes(ser)
    with open(os.path.join(meta, f"{snapshot.signed.version}.snapshot.json"), "wb") as f:
        f.write(snap)
    timestamp.signed.snapshot_meta = MetaFile(snapshot.signed.version, len(snap), {"sha256": hashlib.sha256(snap).hexdigest()})
    timestamp.sign(signers["timestamp"])
    timestamp.to_file(os.path.join(meta, "timestamp.json"), ser)


def add(directory):
    meta = os.path.join(directory, "metadata")
    timestamp = Metadata.from_file(os.path.join(meta, "timestamp.json"))
    snapshot = Metadata.from_file(os.path.join(meta, f"{timestamp.signed.snapshot_meta.version}.snapshot.json"))
    targets = Metadata.from_file(os.path.join(meta, f"{snapshot.signed.meta['targets.json'].version}.targets.json"))
    signers = {role: signer_for(directory, role) for role in ROLES[1:]}
    path = f"extra/{os.getpid()}.bin"
    targets.signed.targets[path] = TargetFile(1, {"sha256": hashlib.sha256(b"x").hexdigest()}, path)
    for m in (targets, snapshot, timestamp):
        m.signed.version += 1
        m.signatures.clear()
    write_all(directory, None, targets, snapshot, timestamp, signers)


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], int(sys.argv[3]))
    else:
        add(sys.argv[2])
