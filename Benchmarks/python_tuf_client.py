#!/usr/bin/env python3
"""Reference TUF client run with python-tuf's ngclient over HTTP, for comparison with Signet's client.

Usage: python_tuf_client.py METADATA_URL TARGETS_URL ROOT_FILE TARGET_PATH WORKDIR

Starts from ROOT_FILE with an empty metadata cache in WORKDIR/metadata (removed first if present),
refreshes, looks TARGET_PATH up, downloads it into WORKDIR/targets with ngclient's default fetcher, and
prints one line with the elapsed time, the target's length and sha256. Exit status: 0 on success,
1 if the target is not found or any step fails, 2 on bad usage.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time

from tuf.ngclient import Updater


def main(argv: list[str]) -> int:
    if len(argv) != 6:
        print("Usage: python_tuf_client.py METADATA_URL TARGETS_URL ROOT_FILE TARGET_PATH WORKDIR", file=sys.stderr)
        return 2
    metadata_url, targets_url, root_file, target_path, workdir = argv[1:]
    metadata_dir = os.path.join(workdir, "metadata")
    targets_dir = os.path.join(workdir, "targets")
    shutil.rmtree(metadata_dir, ignore_errors=True)
    shutil.rmtree(targets_dir, ignore_errors=True)
    os.makedirs(metadata_dir)
    os.makedirs(targets_dir)

    started = time.monotonic()
    try:
        with open(root_file, "rb") as f:
            bootstrap = f.read()
        updater = Updater(
            metadata_dir=metadata_dir,
            metadata_base_url=metadata_url,
            target_dir=targets_dir,
            target_base_url=targets_url,
            bootstrap=bootstrap,
        )
        updater.refresh()
        info = updater.get_targetinfo(target_path)
        if info is None:
            print(f"error: target {target_path!r} not found in the repository", file=sys.stderr)
            return 1
        local = updater.download_target(info)
    except Exception as e:  # noqa: BLE001 - report any failure as a failed run
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started

    digest = hashlib.sha256()
    with open(local, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    print(
        f"python_tuf_client target={target_path} length={info.length} sha256={digest.hexdigest()} "
        f"seconds={elapsed:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
