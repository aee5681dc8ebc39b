#!/usr/bin/env python3
"""Generates TUF repositories with python-tuf for Signet's interop tests, then checks them with python-tuf.

Usage: gen_python_tuf_repos.py OUTDIR

For every scenario OUTDIR/<name>/ holds:
  metadata/   the files a web server serves to a TUF client (N.root.json, timestamp.json,
              N.snapshot.json, N.<role>.json; unversioned names when consistent_snapshot is false)
  targets/    target files, named HASH.basename inside their directory when consistent_snapshot is true
  root.json   the trusted root a client starts from
OUTDIR/manifest.json lists the scenarios and what a correct client must do with each one.

After writing, every scenario is run through python-tuf's ngclient (with a fetcher that maps URLs to
files the way a static web server does); the script exits 1 if any outcome differs from the manifest.
Keys are generated on every run, so signatures differ between runs; everything else is fixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib import parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.signer import CryptoSigner, Key, Signature, Signer, SSlibKey
from tuf.api import exceptions
from tuf.api.metadata import (
    DelegatedRole,
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
from tuf.ngclient import FetcherInterface, Updater
from urllib3.util import parse_url

FAR_FUTURE = datetime(2099, 1, 1, tzinfo=timezone.utc)
LONG_AGO = datetime(2001, 1, 1, tzinfo=timezone.utc)
TOP_LEVEL = ("root", "timestamp", "snapshot", "targets")

# Label used in the manifest when a target lookup finds nothing (python-tuf returns None, no exception).
NOT_FOUND = "TargetNotFound"


# ---------------------------------------------------------------------------------------------------
# Keys


class EcdsaP384Signer(Signer):
    """Signs with ECDSA over P-384 and SHA-384 (DER signature, hex encoded).

    securesystemslib 1.3.1's CryptoSigner refuses P-384 private keys ("unsupported public key
    ecdsa/ecdsa-sha2-nistp384"), although SSlibKey verifies that scheme; this class fills the gap.
    """

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP384R1())
        self._public = SSlibKey.from_crypto(self._private.public_key(), scheme="ecdsa-sha2-nistp384")

    @property
    def public_key(self) -> Key:
        return self._public

    @classmethod
    def from_priv_key_uri(cls, priv_key_uri, public_key, secrets_handler=None):  # noqa: ANN001
        raise NotImplementedError("keys of this signer live only in memory")

    def sign(self, payload: bytes) -> Signature:
        der = self._private.sign(payload, ec.ECDSA(hashes.SHA384()))
        return Signature(self._public.keyid, der.hex())


def new_signer(kind: str) -> Signer:
    """Returns a fresh signer of the given kind."""
    if kind == "ed25519":
        return CryptoSigner.generate_ed25519()
    if kind == "ecdsa-p256":
        return CryptoSigner.generate_ecdsa()
    if kind == "ecdsa-p384":
        return EcdsaP384Signer()
    if kind == "rsa-pss-2048":
        return CryptoSigner.generate_rsa(scheme="rsassa-pss-sha256", size=2048)
    raise ValueError(f"unknown key kind {kind!r}")


# ---------------------------------------------------------------------------------------------------
# Deterministic content


def pseudo_random_bytes(label: str, size: int) -> bytes:
    """Returns `size` bytes derived from `label` by SHA-256 in counter mode (same on every run)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------
# Repository model


@dataclass
class TargetsRole:
    md: Metadata[Targets]
    signers: list[Signer]
    published_version: int | None = None
    dirty: bool = True
    last_bytes: bytes = b""


@dataclass
class Repo:
    """An in-memory TUF repository that can be written to a directory, possibly several times."""

    consistent_snapshot: bool = True
    # Whether snapshot's entries for targets roles, and timestamp's entry for snapshot, carry length+hashes.
    targets_meta_hashes: bool = True
    snapshot_meta_hashes: bool = True
    root: Metadata[Root] = field(init=False)
    top_signers: dict[str, list[Signer]] = field(default_factory=dict)
    roles: dict[str, TargetsRole] = field(default_factory=dict)
    blobs: list[tuple[str, bytes]] = field(default_factory=list)
    root_versions: list[bytes] = field(default_factory=list)
    snapshot_version: int = 0
    timestamp_version: int = 0

    def __post_init__(self) -> None:
        self.root = Metadata(Root(expires=FAR_FUTURE, consistent_snapshot=self.consistent_snapshot))
        self.roles["targets"] = TargetsRole(Metadata(Targets(expires=FAR_FUTURE)), [])

    # -- keys ------------------------------------------------------------------------------------

    def add_top_key(self, role: str, signer: Signer) -> None:
        self.root.signed.add_key(signer.public_key, role)
        self.top_signers.setdefault(role, []).append(signer)
        if role == "targets":
            self.roles["targets"].signers = self.top_signers["targets"]

    def replace_top_keys(self, role: str, signers: list[Signer], threshold: int = 1) -> None:
        for keyid in list(self.root.signed.roles[role].keyids):
            self.root.signed.revoke_key(keyid, role)
        self.top_signers[role] = []
        for signer in signers:
            self.add_top_key(role, signer)
        self.root.signed.roles[role].threshold = threshold

    def publish_root(self, signers: list[Signer]) -> None:
        """Signs the current root with exactly `signers` and records it as the next root version."""
        expected = len(self.root_versions) + 1
        self.root.signed.version = expected
        self.root.signatures.clear()
        for signer in signers:
            self.root.sign(signer, append=True)
        self.root_versions.append(self.root.to_bytes())

    # -- targets and delegations -------------------------------------------------------------------

    def add_target(self, role: str, path: str, data: bytes, custom: dict | None = None) -> TargetFile:
        info = TargetFile.from_data(path, data, ["sha256"])
        if custom is not None:
            info.unrecognized_fields["custom"] = custom
        state = self.roles[role]
        state.md.signed.targets[path] = info
        state.dirty = True
        self.blobs.append((path, data))
        return info

    def delegate(self, parent: str, role: DelegatedRole, signers: list[Signer]) -> None:
        parent_state = self.roles[parent]
        targets = parent_state.md.signed
        if targets.delegations is None:
            targets.delegations = Delegations(keys={}, roles={})
        assert targets.delegations.roles is not None
        role.keyids = []
        targets.delegations.roles[role.name] = role
        for signer in signers:
            targets.add_key(signer.public_key, role.name)
        parent_state.dirty = True
        self.roles[role.name] = TargetsRole(Metadata(Targets(expires=FAR_FUTURE)), list(signers))

    def delegate_hash_bins(self, parent: str, bit_length: int, prefix: str, signer: Signer) -> SuccinctRoles:
        parent_state = self.roles[parent]
        succinct = SuccinctRoles([], 1, bit_length, prefix)
        parent_state.md.signed.delegations = Delegations(keys={}, succinct_roles=succinct)
        parent_state.md.signed.add_key(signer.public_key)
        parent_state.dirty = True
        for name in succinct.get_roles():
            self.roles[name] = TargetsRole(Metadata(Targets(expires=FAR_FUTURE)), [signer])
        return succinct

    # -- output ------------------------------------------------------------------------------------

    def _metadata_name(self, role: str, version: int) -> str:
        encoded = parse.quote(role, "")
        if self.consistent_snapshot:
            return f"{version}.{encoded}.json"
        return f"{encoded}.json"

    def _target_disk_path(self, path: str, data: bytes) -> str:
        if not self.consistent_snapshot:
            return path
        directory, sep, base = path.rpartition("/")
        return f"{directory}{sep}{sha256_hex(data)}.{base}"

    def publish(self, outdir: str, timestamp_expires: datetime = FAR_FUTURE) -> None:
        """Signs every changed targets role, a new snapshot and a new timestamp, and writes them all.

        Root versions recorded with publish_root are written too; files from earlier publishes stay.
        """
        meta_dir = os.path.join(outdir, "metadata")
        os.makedirs(meta_dir, exist_ok=True)
        for index, data in enumerate(self.root_versions, start=1):
            write_file(os.path.join(meta_dir, f"{index}.root.json"), data)
        write_file(os.path.join(outdir, "root.json"), self.root_versions[0])

        snapshot_meta: dict[str, MetaFile] = {}
        for name, state in self.roles.items():
            if state.dirty:
                if state.published_version is not None:
                    state.md.signed.version = state.published_version + 1
                state.md.signatures.clear()
                for signer in state.signers:
                    state.md.sign(signer, append=True)
                data = state.md.to_bytes()
                write_file(os.path.join(meta_dir, self._metadata_name(name, state.md.signed.version)), data)
                state.published_version = state.md.signed.version
                state.dirty = False
                state.last_bytes = data
            version = state.md.signed.version
            if self.targets_meta_hashes:
                snapshot_meta[f"{name}.json"] = MetaFile.from_data(version, state.last_bytes, ["sha256"])
            else:
                snapshot_meta[f"{name}.json"] = MetaFile(version)

        self.snapshot_version += 1
        snapshot = Metadata(Snapshot(version=self.snapshot_version, expires=FAR_FUTURE, meta=snapshot_meta))
        for signer in self.top_signers["snapshot"]:
            snapshot.sign(signer, append=True)
        snapshot_bytes = snapshot.to_bytes()
        write_file(os.path.join(meta_dir, self._metadata_name("snapshot", self.snapshot_version)), snapshot_bytes)

        self.timestamp_version += 1
        if self.snapshot_meta_hashes:
            ts_meta = MetaFile.from_data(self.snapshot_version, snapshot_bytes, ["sha256"])
        else:
            ts_meta = MetaFile(self.snapshot_version)
        timestamp = Metadata(Timestamp(version=self.timestamp_version, expires=timestamp_expires, snapshot_meta=ts_meta))
        for signer in self.top_signers["timestamp"]:
            timestamp.sign(signer, append=True)
        write_file(os.path.join(meta_dir, "timestamp.json"), timestamp.to_bytes())

        target_dir = os.path.join(outdir, "targets")
        os.makedirs(target_dir, exist_ok=True)
        for path, data in self.blobs:
            write_file(os.path.join(target_dir, self._target_disk_path(path, data)), data)


def write_file(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def standard_repo(kinds: dict[str, str], consistent_snapshot: bool = True) -> Repo:
    """A repository with one key of the given kind per top-level role and root version 1 published."""
    repo = Repo(consistent_snapshot=consistent_snapshot)
    for role in TOP_LEVEL:
        repo.add_top_key(role, new_signer(kinds.get(role, "ed25519")))
    repo.publish_root(repo.top_signers["root"])
    return repo


# ---------------------------------------------------------------------------------------------------
# Manifest entries


@dataclass
class Download:
    path: str
    sha256: str | None
    expect: str
    error: str | None = None

    def to_dict(self) -> dict:
        entry = {"path": self.path, "sha256": self.sha256, "expect": self.expect}
        if self.error is not None:
            entry["python_tuf_error"] = self.error
        return entry


@dataclass
class Scenario:
    name: str
    description: str
    refresh: str = "ok"
    refresh_error: str | None = None
    downloads: list[Download] = field(default_factory=list)

    def to_dict(self) -> dict:
        entry = {
            "name": self.name,
            "root": f"{self.name}/root.json",
            "metadata": f"{self.name}/metadata",
            "targets": f"{self.name}/targets",
            "refresh": self.refresh,
            "downloads": [d.to_dict() for d in self.downloads],
            "description": self.description,
        }
        if self.refresh_error is not None:
            entry["python_tuf_refresh_error"] = self.refresh_error
        return entry


def ok(path: str, data: bytes) -> Download:
    return Download(path, sha256_hex(data), "ok")


def missing(path: str) -> Download:
    return Download(path, None, "fail", NOT_FOUND)


# ---------------------------------------------------------------------------------------------------
# Scenarios

HELLO = b"Hello from a TUF repository generated by python-tuf.\n"
FILE_BIN = pseudo_random_bytes("dir/sub/file.bin", 5000)
ODD_PATH = "with space/\u00fcn\u00efcode+plus%.txt"
ODD_DATA = "A target whose path needs percent-encoding: \u00fcn\u00efcode, a space, + and %.\n".encode()


def scenario_ed25519_basic(out: str) -> tuple[Scenario, Repo]:
    repo = standard_repo({})
    repo.add_target("targets", "hello.txt", HELLO, custom={"kind": "greeting", "n": 1})
    repo.add_target("targets", "dir/sub/file.bin", FILE_BIN)
    repo.add_target("targets", ODD_PATH, ODD_DATA)
    repo.publish(os.path.join(out, "ed25519-basic"))
    scenario = Scenario(
        "ed25519-basic",
        "Ed25519 keys for every role, consistent snapshots, hash-prefixed target files; snapshot and "
        "timestamp meta carry length and sha256. One target carries a custom field; one path needs "
        "percent-encoding (space, non-ASCII, '+', '%'); one path is not in the repository.",
        downloads=[
            ok("hello.txt", HELLO),
            ok("dir/sub/file.bin", FILE_BIN),
            ok(ODD_PATH, ODD_DATA),
            missing("dir/sub/absent.bin"),
        ],
    )
    return scenario, repo


def scenario_ecdsa_rsa_mixed(out: str) -> Scenario:
    repo = standard_repo(
        {"root": "ecdsa-p256", "targets": "ecdsa-p384", "snapshot": "rsa-pss-2048", "timestamp": "ed25519"}
    )
    data = b"signed with a mix of key types\n"
    blob = pseudo_random_bytes("mixed/blob.bin", 1234)
    repo.add_target("targets", "mixed.txt", data)
    repo.add_target("targets", "nested/blob.bin", blob)
    repo.publish(os.path.join(out, "ecdsa-rsa-mixed"))
    return Scenario(
        "ecdsa-rsa-mixed",
        "root: ecdsa/ecdsa-sha2-nistp256 (PEM SubjectPublicKeyInfo); targets: ecdsa/ecdsa-sha2-nistp384; "
        "snapshot: rsa/rsassa-pss-sha256, 2048-bit, PSS salt length = 32 (digest length); timestamp: "
        "ed25519. ECDSA signatures are DER, hex encoded.",
        downloads=[ok("mixed.txt", data), ok("nested/blob.bin", blob)],
    )


def scenario_delegations(out: str) -> Scenario:
    repo = standard_repo({})
    repo.targets_meta_hashes = False  # snapshot lists targets roles by version only
    project, fallback, hashed = new_signer("ed25519"), new_signer("ed25519"), new_signer("ecdsa-p256")
    team_a, team_b = new_signer("ed25519"), new_signer("ed25519")

    hashed_paths = ["hp/alpha.txt", "hp/beta.txt"]
    prefixes = sorted({sha256_hex(p.encode())[:2] for p in hashed_paths})

    # Order in the delegations list is search order: project, hashed, fallback.
    repo.delegate("targets", DelegatedRole("project", [], 1, False, paths=["project/*"]), [project])
    repo.delegate("targets", DelegatedRole("hashed", [], 1, False, path_hash_prefixes=prefixes), [hashed])
    repo.delegate("targets", DelegatedRole("fallback", [], 1, False, paths=["*/*"]), [fallback])
    repo.delegate(
        "project", DelegatedRole("project-team", [], 2, True, paths=["project/team-*"]), [team_a, team_b]
    )

    top = b"listed directly in top-level targets\n"
    readme = b"listed by the project role\n"
    other = b"project/ path not in project: found by backtracking to fallback\n"
    team = b"listed by project-team (threshold 2 of 2 keys)\n"
    shadow_team = b"project-team's version of the shadowed target\n"
    shadow_fallback = b"fallback's version of the shadowed target: must never be chosen\n"
    hidden = b"only fallback lists this, but terminating project-team stops the search first\n"
    misc = b"only fallback lists this\n"
    alpha = b"found through a path_hash_prefixes delegation\n"
    beta = pseudo_random_bytes("hp/beta.txt", 777)

    repo.add_target("targets", "top.txt", top)
    repo.add_target("project", "project/readme.txt", readme)
    repo.add_target("project-team", "project/team-notes.txt", team)
    repo.add_target("project-team", "project/team-shadow.txt", shadow_team)
    repo.add_target("fallback", "project/team-shadow.txt", shadow_fallback)
    repo.add_target("fallback", "project/team-hidden.txt", hidden)
    repo.add_target("fallback", "project/other.txt", other)
    repo.add_target("fallback", "misc/fallback.txt", misc)
    repo.add_target("hashed", "hp/alpha.txt", alpha)
    repo.add_target("hashed", "hp/beta.txt", beta)
    repo.publish(os.path.join(out, "delegations"))

    # The hidden target must be unreachable only because of the terminating delegation: fallback does
    # list it and is delegated its path, and project-team is the terminating role that claims it.
    top_delegations = repo.roles["targets"].md.signed.delegations
    project_delegations = repo.roles["project"].md.signed.delegations
    assert top_delegations is not None and top_delegations.roles is not None
    assert project_delegations is not None and project_delegations.roles is not None
    assert "project/team-hidden.txt" in repo.roles["fallback"].md.signed.targets
    assert top_delegations.roles["fallback"].is_delegated_path("project/team-hidden.txt")
    assert list(project_delegations.get_roles_for_target("project/team-hidden.txt")) == [("project-team", True)]

    return Scenario(
        "delegations",
        "targets delegates, in order, to 'project' (paths project/*, non-terminating), 'hashed' "
        f"(path_hash_prefixes {prefixes}, ecdsa P-256 key) and 'fallback' (paths */*); 'project' delegates to "
        "'project-team' (project/team-*, terminating, threshold 2 of 2 distinct keys). "
        "project/team-shadow.txt is listed by both project-team and fallback with different content: the "
        "project-team entry wins. project/team-hidden.txt is listed only by fallback and must NOT be found, "
        "because the terminating project-team delegation ends the search. project/other.txt is found in "
        "fallback by backtracking past the non-terminating 'project'. Snapshot lists targets roles by "
        "version only (no length/hashes).",
        downloads=[
            ok("top.txt", top),
            ok("project/readme.txt", readme),
            ok("project/team-notes.txt", team),
            ok("project/team-shadow.txt", shadow_team),
            ok("project/other.txt", other),
            ok("misc/fallback.txt", misc),
            ok("hp/alpha.txt", alpha),
            ok("hp/beta.txt", beta),
            missing("project/team-hidden.txt"),
            missing("project/team-absent.txt"),
            missing("nowhere.txt"),
        ],
    )


def scenario_hash_bins(out: str) -> Scenario:
    repo = standard_repo({})
    repo.targets_meta_hashes = False
    repo.snapshot_meta_hashes = False  # timestamp lists snapshot by version only as well
    bins = repo.delegate_hash_bins("targets", 5, "bins", new_signer("ed25519"))
    contents: dict[str, bytes] = {}
    for i in range(200):
        path = f"packages/pkg-{i:03d}/artifact-{i:03d}.tar.gz"
        data = f"hash bin target {i}\n".encode() + pseudo_random_bytes(path, i % 50)
        contents[path] = data
        repo.add_target(bins.get_role_for_target(path), path, data)
    repo.publish(os.path.join(out, "hash-bins"))
    picked = ["packages/pkg-000/artifact-000.tar.gz", "packages/pkg-057/artifact-057.tar.gz",
              "packages/pkg-123/artifact-123.tar.gz", "packages/pkg-199/artifact-199.tar.gz"]
    used_bins = sorted({bins.get_role_for_target(p) for p in picked})
    return Scenario(
        "hash-bins",
        "Top-level targets lists no targets and delegates through succinct_roles (bit_length 5, name_prefix "
        "'bins', 32 terminating bins bins-00 … bins-1f, one shared ed25519 key); 200 targets spread over the "
        f"bins. Listed downloads live in {', '.join(used_bins)}. Snapshot and timestamp meta carry versions "
        "only (no length/hashes).",
        downloads=[ok(p, contents[p]) for p in picked] + [missing("packages/pkg-200/artifact-200.tar.gz")],
    )


def scenario_root_rotation(out: str) -> Scenario:
    outdir = os.path.join(out, "root-rotation")
    repo = standard_repo({})
    v1_key = repo.top_signers["root"][0]
    first = b"published under root v1\n"
    repo.add_target("targets", "first.txt", first)
    repo.publish(outdir)  # targets v1, snapshot v1, timestamp v1 signed with the original keys

    # v2: three new root keys, threshold 2; signed by v1's key and two of the new keys.
    new_keys = [new_signer("ed25519") for _ in range(3)]
    repo.replace_top_keys("root", new_keys, threshold=2)
    repo.publish_root([v1_key, new_keys[0], new_keys[1]])

    # v3: timestamp and snapshot keys rotated; root keys unchanged, signed by two of them.
    repo.replace_top_keys("timestamp", [new_signer("ed25519")])
    repo.replace_top_keys("snapshot", [new_signer("ed25519")])
    repo.publish_root([new_keys[1], new_keys[2]])

    second = b"published under root v3 with rotated snapshot and timestamp keys\n"
    repo.add_target("targets", "second.txt", second)
    repo.publish(outdir)  # targets v2, snapshot v2, timestamp v2 signed with the v3 keys
    return Scenario(
        "root-rotation",
        "Client starts from root v1 (one root key). 2.root.json: three new root keys, threshold 2, signed "
        "by the v1 key and two new keys. 3.root.json: timestamp and snapshot keys rotated, signed by two of "
        "the v2/v3 root keys. The metadata dir also keeps 1.snapshot.json / 1.targets.json signed with the "
        "old keys; timestamp.json (v2) points to 2.snapshot.json, which points to 2.targets.json.",
        downloads=[ok("first.txt", first), ok("second.txt", second)],
    )


def scenario_no_consistent_snapshot(out: str) -> Scenario:
    repo = standard_repo({}, consistent_snapshot=False)
    extra_signer = new_signer("ed25519")
    repo.delegate("targets", DelegatedRole("extra", [], 1, True, paths=["extra/*"]), [extra_signer])
    hello = b"consistent_snapshot is false: plain file names\n"
    nested = pseudo_random_bytes("plain/nested/data.bin", 2048)
    extra = b"from the delegated role 'extra', served as extra.json\n"
    repo.add_target("targets", "plain.txt", hello)
    repo.add_target("targets", "plain/nested/data.bin", nested)
    repo.add_target("extra", "extra/file.txt", extra)
    repo.publish(os.path.join(out, "no-consistent-snapshot"))
    return Scenario(
        "no-consistent-snapshot",
        "consistent_snapshot false: metadata is timestamp.json, snapshot.json, targets.json, extra.json "
        "(root stays versioned: 1.root.json); target files keep their plain names.",
        downloads=[ok("plain.txt", hello), ok("plain/nested/data.bin", nested), ok("extra/file.txt", extra),
                   missing("extra/absent.txt")],
    )


def copy_scenario(out: str, source: str, name: str) -> str:
    dest = os.path.join(out, name)
    shutil.copytree(os.path.join(out, source), dest)
    return dest


def replace_once(path: str, old: bytes, new: bytes) -> None:
    with open(path, "rb") as f:
        data = f.read()
    if data.count(old) != 1 or len(old) != len(new):
        raise RuntimeError(f"expected exactly one {old!r} in {path}")
    write_file(path, data.replace(old, new))


def flip_hex_digit(text: str, index: int) -> str:
    c = text[index]
    return text[:index] + ("0" if c != "0" else "1") + text[index + 1 :]


def only_file(directory: str, suffix: str) -> str:
    names = [n for n in os.listdir(directory) if n.endswith(suffix)]
    if len(names) != 1:
        raise RuntimeError(f"expected one *{suffix} in {directory}, found {names}")
    return os.path.join(directory, names[0])


def tampered_scenarios(out: str, basic: Scenario, repo: Repo) -> list[Scenario]:
    result = []
    basic_downloads = basic.downloads

    # Target bytes changed on disk, same length: metadata is fine, the download must fail.
    dest = copy_scenario(out, "ed25519-basic", "tamper-target-bytes")
    hello_file = os.path.join(dest, "targets", f"{sha256_hex(HELLO)}.hello.txt")
    replace_once(hello_file, b"Hello", b"Jello")
    downloads = [Download(d.path, d.sha256, "fail", "LengthOrHashMismatchError") if d.path == "hello.txt" else d
                 for d in basic_downloads]
    result.append(Scenario(
        "tamper-target-bytes",
        "Copy of ed25519-basic with the served hello.txt changed after signing ('Hello' -> 'Jello', same "
        "length): refresh succeeds, downloading hello.txt fails on its sha256; other targets still download. "
        "The sha256 listed for hello.txt is the signed one.",
        downloads=downloads,
    ))

    all_fail = [Download(d.path, d.sha256, "fail") for d in basic_downloads]

    # One hex digit of hello.txt's hash inside N.targets.json changed: still valid JSON, same length.
    dest = copy_scenario(out, "ed25519-basic", "tamper-targets-metadata")
    targets_file = only_file(os.path.join(dest, "metadata"), ".targets.json")
    digest = sha256_hex(HELLO)
    replace_once(targets_file, digest.encode(), flip_hex_digit(digest, 0).encode())
    result.append(Scenario(
        "tamper-targets-metadata",
        f"Copy of ed25519-basic with one hex digit changed in {os.path.basename(targets_file)} (the sha256 of "
        "hello.txt; valid JSON, same length): it no longer matches the sha256 snapshot records for "
        "targets.json, so refresh fails (the signature would not verify either).",
        refresh="fail", refresh_error="LengthOrHashMismatchError", downloads=all_fail,
    ))

    # Timestamp signature altered.
    dest = copy_scenario(out, "ed25519-basic", "tamper-bad-signature")
    ts_path = os.path.join(dest, "metadata", "timestamp.json")
    with open(ts_path, "rb") as f:
        ts_doc = json.loads(f.read())
    sig = ts_doc["signatures"][0]["sig"]
    replace_once(ts_path, sig.encode(), flip_hex_digit(sig, len(sig) // 2).encode())
    result.append(Scenario(
        "tamper-bad-signature",
        "Copy of ed25519-basic with one hex digit of timestamp.json's only signature changed: the threshold "
        "is not met and refresh fails.",
        refresh="fail", refresh_error="UnsignedMetadataError", downloads=all_fail,
    ))

    # Timestamp validly re-signed, but expired.
    dest = copy_scenario(out, "ed25519-basic", "tamper-expired-timestamp")
    ts_path = os.path.join(dest, "metadata", "timestamp.json")
    with open(ts_path, "rb") as f:
        ts = Metadata[Timestamp].from_bytes(f.read())
    ts.signed.expires = LONG_AGO
    ts.signatures.clear()
    for signer in repo.top_signers["timestamp"]:
        ts.sign(signer, append=True)
    write_file(ts_path, ts.to_bytes())
    result.append(Scenario(
        "tamper-expired-timestamp",
        f"Copy of ed25519-basic with timestamp.json re-signed by the real timestamp key but expiring "
        f"{LONG_AGO.strftime('%Y-%m-%dT%H:%M:%SZ')}: refresh fails as expired.",
        refresh="fail", refresh_error="ExpiredMetadataError", downloads=all_fail,
    ))
    return result


# ---------------------------------------------------------------------------------------------------
# Verification with python-tuf's ngclient


class StaticDirectoryFetcher(FetcherInterface):
    """Serves URLs from a directory the way a static web server does.

    The URL is first normalised as urllib3 sends it (characters not allowed in a URL path are
    percent-encoded, '%' not starting a valid escape becomes %25), then percent-decoded and mapped to
    a file below the directory; a missing file answers 404.
    """

    def __init__(self, directory: str) -> None:
        self._directory = os.path.realpath(directory)

    def _fetch(self, url: str) -> Iterator[bytes]:
        wire_path = parse_url(url).path or "/"
        relative = parse.unquote(wire_path).lstrip("/")
        full = os.path.realpath(os.path.join(self._directory, relative))
        if not full.startswith(self._directory + os.sep) or not os.path.isfile(full):
            raise exceptions.DownloadHTTPError(f"404 for {url}", 404)
        with open(full, "rb") as f:
            data = f.read()
        return iter([data[i : i + 65536] for i in range(0, len(data), 65536)] or [b""])


def describe(error: BaseException) -> str:
    return type(error).__name__


def verify_scenario(out: str, scenario: Scenario) -> list[str]:
    """Runs a fresh ngclient against the scenario and returns what differs from the manifest."""
    problems: list[str] = []
    base = os.path.join(out, scenario.name)
    with open(os.path.join(base, "root.json"), "rb") as f:
        bootstrap = f.read()
    with tempfile.TemporaryDirectory() as work:
        updater = Updater(
            metadata_dir=os.path.join(work, "metadata"),
            metadata_base_url="http://repository.test/metadata/",
            target_dir=os.path.join(work, "targets"),
            target_base_url="http://repository.test/targets/",
            fetcher=StaticDirectoryFetcher(base),
            bootstrap=bootstrap,
        )
        os.makedirs(os.path.join(work, "targets"), exist_ok=True)
        try:
            updater.refresh()
            refreshed, refresh_error = True, None
        except Exception as e:  # noqa: BLE001 - any failure is an outcome to compare
            refreshed, refresh_error = False, e
        outcome = "ok" if refreshed else "fail"
        if outcome != scenario.refresh:
            problems.append(f"refresh: expected {scenario.refresh}, got {outcome} ({refresh_error!r})")
        elif refresh_error is not None and scenario.refresh_error is not None:
            if describe(refresh_error) != scenario.refresh_error:
                problems.append(f"refresh: expected {scenario.refresh_error}, got {refresh_error!r}")
        if not refreshed:
            for d in scenario.downloads:
                if d.expect != "fail":
                    problems.append(f"{d.path}: expected ok but refresh failed")
            return problems

        for d in scenario.downloads:
            error: str | None = None
            got_sha = None
            try:
                info = updater.get_targetinfo(d.path)
                if info is None:
                    error = NOT_FOUND
                else:
                    dest = updater.download_target(info, os.path.join(work, "targets", sha256_hex(d.path.encode())))
                    with open(dest, "rb") as f:
                        got_sha = sha256_hex(f.read())
            except Exception as e:  # noqa: BLE001
                error = describe(e)
            if d.expect == "ok":
                if error is not None:
                    problems.append(f"{d.path}: expected ok, got {error}")
                elif got_sha != d.sha256:
                    problems.append(f"{d.path}: sha256 {got_sha} != manifest {d.sha256}")
            else:
                if error is None:
                    problems.append(f"{d.path}: expected fail, but it downloaded (sha256 {got_sha})")
                elif d.error is not None and error != d.error:
                    problems.append(f"{d.path}: expected {d.error}, got {error}")
    return problems


# ---------------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    existing = os.listdir(out)
    if existing:
        print(f"error: {out} is not empty (found {', '.join(sorted(existing)[:5])})", file=sys.stderr)
        return 2

    basic, basic_repo = scenario_ed25519_basic(out)
    scenarios = [
        basic,
        scenario_ecdsa_rsa_mixed(out),
        scenario_delegations(out),
        scenario_hash_bins(out),
        scenario_root_rotation(out),
        scenario_no_consistent_snapshot(out),
    ]
    scenarios += tampered_scenarios(out, basic, basic_repo)

    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump([s.to_dict() for s in scenarios], f, indent=2, ensure_ascii=False)
        f.write("\n")

    failed = False
    for scenario in scenarios:
        try:
            problems = verify_scenario(out, scenario)
        except Exception:  # noqa: BLE001
            problems = ["verification crashed:\n" + traceback.format_exc()]
        if problems:
            failed = True
            print(f"FAIL {scenario.name}", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
        else:
            print(f"ok   {scenario.name}: refresh {scenario.refresh}, {len(scenario.downloads)} downloads as expected")
    if failed:
        print("error: python-tuf's ngclient disagrees with manifest.json (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
