#!/usr/bin/env python3
"""Resolves tags through Signet's trust data in an OCI registry with python-tuf's ngclient.

Usage: verify_registry_trust_with_python_tuf.py REGISTRY REPOSITORY ROOT_FILE TAG=SHA256 [...]
The metadata files are the blobs the trust index (the manifest tagged `_tuf`) lists by title, fetched
over the registry's HTTP API (plain HTTP: loopback test registries only). The client starts from
ROOT_FILE, refreshes, and looks each tag up as a TUF target (delegations and hash bins included), checking
that its signed SHA-256 is the one given. Exit 0 when every tag resolves as expected.
"""
import json
import shutil
import sys
import tempfile
import urllib.request
from urllib import parse

from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import FetcherInterface, Updater

INDEX_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


class RegistryIndexFetcher(FetcherInterface):
    """Serves http://trust/metadata/NAME from the blob the registry's trust index lists as NAME."""

    def __init__(self, registry, repository):
        self.base = f"http://{registry}/v2/{repository}"
        request = urllib.request.Request(f"{self.base}/manifests/_tuf", headers={"Accept": INDEX_MEDIA_TYPE})
        with urllib.request.urlopen(request) as response:
            index = json.load(response)
        self.files = {
            layer["annotations"]["org.opencontainers.image.title"]: layer["digest"] for layer in index["layers"]
        }

    def _fetch(self, url):
        name = parse.unquote(parse.urlparse(url).path.rsplit("/", 1)[-1])
        digest = self.files.get(name)
        if digest is None:
            raise DownloadHTTPError(f"not in the trust index: {name}", 404)
        with urllib.request.urlopen(f"{self.base}/blobs/{digest}") as response:
            return iter([response.read()])


def main():
    registry, repository, root_file = sys.argv[1], sys.argv[2], sys.argv[3]
    wanted = [arg.rsplit("=", 1) for arg in sys.argv[4:]]
    work = tempfile.mkdtemp()
    try:
        with open(root_file, "rb") as f:
            root_bytes = f.read()
        updater = Updater(work, "http://trust/metadata/", work, "http://trust/targets/",
                          fetcher=RegistryIndexFetcher(registry, repository), bootstrap=root_bytes)
        updater.refresh()
        for tag, sha in wanted:
            info = updater.get_targetinfo(tag)
            if info is None:
                print(f"python-tuf: tag {tag} not found", file=sys.stderr)
                return 1
            if info.hashes.get("sha256") != sha:
                print(f"python-tuf: {tag} is signed for {info.hashes}, expected sha256 {sha}", file=sys.stderr)
                return 1
        print(f"python-tuf: {len(wanted)} tag(s) resolved", file=sys.stderr)
        return 0
    except Exception as e:  # any verification failure is a failed check
        print(f"python-tuf: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
