#!/usr/bin/env python3
"""Writes a small single-layer OCI image layout (for demos and tests), with only the standard library.

Usage: make-oci-image.py OUTDIR [--message TEXT] [--size BYTES] [--ref NAME]
The layer is a gzipped tar holding hello.txt (TEXT) and, with --size, a file of that many
deterministic pseudo-random bytes. Prints the manifest digest.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import tarfile


def write_blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest


def build_image(root, message, size, os_name="linux", arch="amd64"):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        files = [("hello.txt", message.encode())]
        if size:
            rng = random.Random(size)
            files.append(("data.bin", bytes(rng.getrandbits(8) for _ in range(size))))
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    layer = gzip.compress(raw.getvalue(), mtime=0)
    layer_digest = write_blob(root, layer)
    config = json.dumps({
        "architecture": arch, "os": os_name,
        "config": {"Cmd": ["/bin/cat", "/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }, separators=(",", ":")).encode()
    config_digest = write_blob(root, config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": len(layer)}],
    }, separators=(",", ":")).encode()
    return write_blob(root, manifest), len(manifest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--message", default="hello from signet\n")
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--ref", default="latest")
    ap.add_argument("--platforms", default="", help="comma-separated OS/ARCH list: write an image index with one image per platform")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "blobs", "sha256"), exist_ok=True)
    if a.platforms:
        entries = []
        for p in a.platforms.split(","):
            os_name, arch = p.split("/")[:2]
            digest, size = build_image(a.out, f"{a.message} ({p})", a.size, os_name, arch)
            entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
                            "platform": {"architecture": arch, "os": os_name}})
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": entries}, separators=(",", ":")).encode()
        manifest_digest, manifest_len = write_blob(a.out, index), len(index)
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": manifest_digest, "size": manifest_len}
    else:
        manifest_digest, manifest_len = build_image(a.out, a.message, a.size)
        top = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest_len,
               "platform": {"architecture": "amd64", "os": "linux"}}
    top["annotations"] = {"org.opencontainers.image.ref.name": a.ref}
    with open(os.path.join(a.out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)
    print(manifest_digest)


if __name__ == "__main__":
    main()
