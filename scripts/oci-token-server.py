#!/usr/bin/python3
"""Loopback stand-in for a registry token issuer (Docker "token authentication"), for tests only.

Usage: oci-token-server.py CONFIG.json

CONFIG keys: addr, port (0 picks a free one), port_file (the bound port is written there once
listening), issuer, service, users ({name: password}), key and cert (PEM files: the RS256 signing
key and its certificate, sent as the JWT "x5c" header), ttl (seconds).

  GET  /token?service=S&scope=repository:NAME:ACTIONS[&scope=...]  (optional HTTP basic credentials)
  POST /token  form: grant_type=password, username, password, service, scope
       -> 200 {"token", "access_token", "expires_in", "issued_at"}
  GET  /stats -> {"requests": N, "scopes": [the scope list of every token request, in order]}

Known user with the right password: every requested action is granted. No credentials: a token
granting nothing. Wrong credentials: 401. Requires the `cryptography` package (Debian:
python3-cryptography), which is why it runs under /usr/bin/python3.
"""
import base64
import datetime
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

with open(sys.argv[1], encoding="utf-8") as fh:
    CONFIG = json.load(fh)
with open(CONFIG["key"], "rb") as fh:
    SIGNING_KEY = serialization.load_pem_private_key(fh.read(), None)
with open(CONFIG["cert"], "rb") as fh:
    CERT_DER = x509.load_pem_x509_certificate(fh.read()).public_bytes(serialization.Encoding.DER)

LOCK = threading.Lock()
SEEN_SCOPES = []


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_entries(scopes):
    """Turns scope strings ("repository:a/b:pull,push", possibly space-separated) into JWT access entries."""
    entries = []
    for text in scopes:
        for item in text.split():
            pieces = item.split(":")
            if len(pieces) < 3:
                continue
            actions = [a for a in pieces[-1].split(",") if a]
            entries.append({"type": pieces[0], "name": ":".join(pieces[1:-1]), "actions": actions})
    return entries


def signed_token(subject, audience, access):
    issued = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(CERT_DER).decode("ascii")]}
    claims = {
        "iss": CONFIG["issuer"], "sub": subject, "aud": audience, "access": access,
        "iat": issued, "nbf": issued - 10, "exp": issued + int(CONFIG["ttl"]),
        "jti": b64url(os.urandom(16)),
    }
    encoded = lambda obj: b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))
    signing_input = encoded(header) + "." + encoded(claims)
    signature = SIGNING_KEY.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature), issued


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("token-server: " + (fmt % args) + "\n")

    def answer(self, status, payload, extra_headers=()):
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def basic_user(self):
        """(user or None, credentials_ok)."""
        value = self.headers.get("Authorization", "")
        if not value.lower().startswith("basic "):
            return None, True
        try:
            user, password = base64.b64decode(value[6:], validate=True).decode("utf-8").split(":", 1)
        except Exception:
            return None, False
        if CONFIG["users"].get(user) == password:
            return user, True
        return None, False

    def grant(self, user, service, scopes):
        with LOCK:
            SEEN_SCOPES.append(sorted(scopes))
        if service != CONFIG["service"]:
            return self.answer(400, {"errors": [{"code": "UNSUPPORTED", "message": "unknown service"}]})
        access = access_entries(scopes) if user else []
        token, issued = signed_token(user or "", service, access)
        stamp = datetime.datetime.fromtimestamp(issued, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.answer(200, {"token": token, "access_token": token, "expires_in": int(CONFIG["ttl"]),
                          "issued_at": stamp})

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/stats":
            with LOCK:
                return self.answer(200, {"requests": len(SEEN_SCOPES), "scopes": list(SEEN_SCOPES)})
        if parts.path != "/token":
            return self.answer(404, {"error": "not found"})
        query = parse_qs(parts.query)
        user, ok = self.basic_user()
        if not ok:
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]},
                               [("WWW-Authenticate", 'Basic realm="test-token-issuer"')])
        self.grant(user, query.get("service", [""])[0], query.get("scope", []))

    def do_POST(self):
        parts = urlsplit(self.path)
        if parts.path != "/token":
            return self.answer(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length", "0") or "0")
        form = parse_qs(self.rfile.read(length).decode("utf-8"))
        if form.get("grant_type", [""])[0] != "password":
            return self.answer(400, {"error": "unsupported_grant_type"})
        user = form.get("username", [""])[0]
        if CONFIG["users"].get(user) != form.get("password", [None])[0]:
            return self.answer(401, {"error": "invalid_grant"})
        self.grant(user, form.get("service", [""])[0], form.get("scope", []))


def main():
    server = ThreadingHTTPServer((CONFIG.get("addr", "127.0.0.1"), int(CONFIG.get("port", 0))), Handler)
    server.daemon_threads = True
    port_file = CONFIG.get("port_file")
    if port_file:
        with open(port_file + ".tmp", "w", encoding="ascii") as fh:
            fh.write(str(server.server_address[1]))
        os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
