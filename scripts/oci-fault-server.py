#!/usr/bin/env python3
"""A read-only registry with injectable faults, for Signet's OCI client tests (standard library only).

Usage: oci-fault-server.py --layout DIR [--host 127.0.0.1] [--port 0]

Serves the OCI image layout DIR under any repository name:
  GET|HEAD /v2/                        200, or 401 with a Basic challenge when auth is required
  GET|HEAD /v2/NAME/manifests/REF      REF is a digest, or a ref.name from DIR/index.json
  GET|HEAD /v2/NAME/blobs/DIGEST       blob bytes with Content-Length

Prints the bound port on the first line of stdout and exits when stdin reaches end-of-file.

Control (not part of the registry API):
  POST /_control   JSON body, replaces the configuration:
      {"auth": "user:password" | null,        require HTTP basic auth on /v2/...
       "delay_ms": N,                          sleep before answering each blob GET
       "faults": [{"path": SUBSTRING, "kind": KIND, "times": N (default: always), ...}]}
    The first fault whose "path" occurs in the request path and has uses left applies. KIND:
      status    answer "status" (e.g. 503) with an OCI error body, and the fault's "headers" ({name: value})
      reset     close the connection with a TCP reset before answering
      truncate  send Content-Length of the full body, then half of the body, then close
      short     chunked transfer encoding carrying only half of the body, properly terminated
      endless   chunked transfer encoding with endless data (until the client gives up)
      redirect  307 to "target" + the request path (with the query string)
      slow      the full body with Content-Length, in 16 KiB pieces "pause_ms" (default 100) apart
  GET  /_requests  JSON list of {"method", "path", "headers": {lowercased name: value}}
  GET  /_stats     {"max_in_flight": N, "blob_gets": N}
  POST /_reset     forget recorded requests and statistics
"""
import argparse
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

STATE_LOCK = threading.Lock()
STATE = {"auth": None, "delay_ms": 0, "faults": [], "requests": [], "in_flight": 0, "max_in_flight": 0,
         "blob_gets": 0}
LAYOUT = ""


def layout_blob(digest):
    algorithm, _, hexpart = digest.partition(":")
    if algorithm not in ("sha256", "sha512") or not hexpart or not all(c in "0123456789abcdef" for c in hexpart):
        return None
    path = os.path.join(LAYOUT, "blobs", algorithm, hexpart)
    return path if os.path.isfile(path) else None


def manifest_for(ref):
    """(bytes, media type, digest) of a manifest named by digest or ref.name, or None."""
    with open(os.path.join(LAYOUT, "index.json"), "rb") as fh:
        index = json.load(fh)
    digest, media_type = None, None
    for entry in index.get("manifests", []):
        name = entry.get("annotations", {}).get("org.opencontainers.image.ref.name")
        if ref in (entry.get("digest"), name):
            digest, media_type = entry["digest"], entry["mediaType"]
            break
    if digest is None and ":" in ref:
        digest = ref
    path = layout_blob(digest) if digest else None
    if path is None:
        return None
    with open(path, "rb") as fh:
        body = fh.read()
    if media_type is None:
        media_type = json.loads(body).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
    return body, media_type, digest


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # --- helpers -----------------------------------------------------------------
    def send_json(self, status, payload, extra=()):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def registry_error(self, status, code, message, extra=()):
        self.send_json(status, {"errors": [{"code": code, "message": message}]}, extra)

    def take_fault(self):
        with STATE_LOCK:
            for fault in STATE["faults"]:
                if fault.get("path", "") in self.path and fault.get("times", -1) != 0:
                    if fault.get("times", -1) > 0:
                        fault["times"] -= 1
                    return dict(fault)
        return None

    def authorized(self):
        with STATE_LOCK:
            required = STATE["auth"]
        if not required:
            return True
        expected = "Basic " + base64.b64encode(required.encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self.registry_error(401, "UNAUTHORIZED", "authentication required",
                            [("WWW-Authenticate", 'Basic realm="fault-server"')])
        return False

    def reset_connection(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def send_body(self, body, media_type, digest, fault):
        kind = fault["kind"] if fault else None
        if kind == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if kind == "slow":
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for start in range(0, len(body), 16 * 1024):
                    self.wfile.write(body[start:start + 16 * 1024])
                    self.wfile.flush()
                    time.sleep(int(fault.get("pause_ms", 100)) / 1000.0)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return
        if kind == "drip":
            # A hostile registry that keeps the transfer alive just above low-speed limits.
            rate = int(fault.get("bytes_per_second", 2000))
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            step = max(1, rate // 10)
            try:
                for start in range(0, len(body), step):
                    self.wfile.write(body[start:start + step])
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return
        if kind == "declare-larger":
            # Content-Length larger than the descriptor's size (the body itself is right).
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body) + int(fault.get("extra", 1000))))
            self.end_headers()
            try:
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        if kind in ("short", "endless"):
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if kind == "short":
                part = body[: len(body) // 2]
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n0\r\n\r\n")
                return
            block = os.urandom(64 * 1024)
            try:
                for _ in range(1 << 16):  # at most 4 GiB, far more than any test descriptor
                    self.wfile.write(b"%x\r\n" % len(block) + block + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # --- routes ------------------------------------------------------------------------
    def handle_v2(self):
        parts = urlsplit(self.path)
        segments = parts.path.split("/")
        with STATE_LOCK:
            STATE["requests"].append({"method": self.command, "path": self.path,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}})
        if not self.authorized():
            return
        fault = self.take_fault()
        if fault and fault["kind"] == "reset":
            return self.reset_connection()
        if fault and fault["kind"] == "status":
            return self.registry_error(int(fault["status"]), "FAULT", "injected failure",
                                       list(fault.get("headers", {}).items()))
        if fault and fault["kind"] == "redirect":
            self.send_response(307)
            self.send_header("Location", fault["target"] + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if parts.path == "/v2/":
            return self.send_json(200, {})
        if len(segments) >= 5 and segments[-2] == "manifests":
            found = manifest_for(segments[-1])
            if found is None:
                return self.registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            body, media_type, digest = found
            return self.send_body(body, media_type, digest, fault)
        if len(segments) >= 5 and segments[-2] == "blobs":
            path = layout_blob(segments[-1])
            if path is None:
                return self.registry_error(404, "BLOB_UNKNOWN", "blob unknown")
            with STATE_LOCK:
                STATE["in_flight"] += 1
                STATE["blob_gets"] += 1 if self.command == "GET" else 0
                STATE["max_in_flight"] = max(STATE["max_in_flight"], STATE["in_flight"])
                delay = STATE["delay_ms"]
            try:
                if delay and self.command == "GET":
                    time.sleep(delay / 1000.0)
                with open(path, "rb") as fh:
                    body = fh.read()
                self.send_body(body, "application/octet-stream", segments[-1], fault)
            finally:
                with STATE_LOCK:
                    STATE["in_flight"] -= 1
            return
        self.registry_error(404, "NAME_UNKNOWN", "unknown path")

    def do_GET(self):
        if self.path == "/_requests":
            with STATE_LOCK:
                return self.send_json(200, list(STATE["requests"]))
        if self.path == "/_stats":
            with STATE_LOCK:
                return self.send_json(200, {"max_in_flight": STATE["max_in_flight"], "blob_gets": STATE["blob_gets"]})
        self.handle_v2()

    def do_HEAD(self):
        self.handle_v2()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0") or "0")
        payload = self.rfile.read(length)
        if self.path == "/_control":
            config = json.loads(payload or b"{}")
            with STATE_LOCK:
                STATE["auth"] = config.get("auth")
                STATE["delay_ms"] = int(config.get("delay_ms", 0))
                STATE["faults"] = list(config.get("faults", []))
            return self.send_json(200, {"ok": True})
        if self.path == "/_reset":
            with STATE_LOCK:
                STATE.update({"requests": [], "in_flight": 0, "max_in_flight": 0, "blob_gets": 0})
            return self.send_json(200, {"ok": True})
        self.registry_error(405, "UNSUPPORTED", "read-only registry")


def main():
    global LAYOUT
    parser = argparse.ArgumentParser()
    parser.add_argument("--layout", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    LAYOUT = args.layout
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # returns at end-of-file: the test process closed the pipe or exited
    server.shutdown()


if __name__ == "__main__":
    main()
