#!/usr/bin/env python3
"""Verifies a repository written by Signet with python-tuf's ngclient.

Usage: verify_with_python_tuf.py REPO_DIR ROOT_FILE TARGET_PATH=SHA256 [...]
REPO_DIR holds metadata/ and targets/ as Signet publishes them. The client starts from ROOT_FILE
(typically version 1), refreshes, and downloads each target, checking its SHA-256. Exit 0 on success.
"""
import hashlib
import os
import shutil
import sys
import tempfile
from urllib import parse

from tuf.ngclient import FetcherInterface, Updater
from tuf.api.exceptions import DownloadHTTPError


class DirectoryFetcher(FetcherInterface):
    """Serves http://repo/metadata/... and http://repo/targets/... from a directory."""

    def __init__(self, base):
        self.base = base

    def _fetch(self, url):
        path = parse.unquote(parse.urlparse(url).path).lstrip("/")
        full = os.path.join(self.base, path)
        if not os.path.isfile(full):
            raise DownloadHTTPError(f"not found: {url}", 404)
        with open(full, "rb") as f:
            return iter([f.read()])


def main():
    repo, root_file = sys.argv[1], sys.argv[2]
    wanted = [arg.rsplit("=", 1) for arg in sys.argv[3:]]
    work = tempfile.mkdtemp()
    try:
        meta = os.path.join(work, "metadata")
        os.makedirs(meta)
        with open(root_file, "rb") as f:
            root_bytes = f.read()
        updater = Updater(meta, "http://repo/metadata/", os.path.join(work, "targets"), "http://repo/targets/",
                          fetcher=DirectoryFetcher(repo), bootstrap=root_bytes)
        os.makedirs(os.path.join(work, "targets"))
        updater.refresh()
        for path, sha in wanted:
            info = updater.get_targetinfo(path)
            if info is None:
                print(f"python-tuf: target {path} not found", file=sys.stderr)
                return 1
            out = updater.download_target(info)
            with open(out, "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
            if got != sha:
                print(f"python-tuf: {path} has sha256 {got}, expected {sha}", file=sys.stderr)
                return 1
        print(f"python-tuf: {len(wanted)} target(s) verified", file=sys.stderr)
        return 0
    except Exception as e:  # any verification failure is a failed check
        print(f"python-tuf: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
