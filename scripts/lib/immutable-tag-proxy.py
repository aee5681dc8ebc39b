#!/usr/bin/env python3
"""A registry front that refuses to overwrite tags, as registries with immutable tags do (ECR, Harbor).

Usage: immutable-tag-proxy.py UPSTREAM_HOST:PORT
Listens on a free 127.0.0.1 port (printed as "PORT=N" on stdout), forwards every request to the
docker-registry at UPSTREAM, and answers `PUT /v2/NAME/manifests/TAG` for a TAG that already exists with
HTTP 400 TAG_INVALID instead of forwarding it. Manifests put by digest are forwarded. Exits when
standard input closes. Test tool only.
"""
import http.client
import http.server
import json
import socket
import sys
import threading

UPSTREAM = sys.argv[1]


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(UPSTREAM, timeout=30)
        conn.request(method, path, body=body, headers=headers)
        return conn, conn.getresponse()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "transfer-encoding")}
        path = self.path
        parts = path.split("?")[0].split("/")
        if self.command == "PUT" and len(parts) >= 5 and parts[1] == "v2" and parts[-2] == "manifests" and not parts[-1].startswith("sha256:"):
            probe_headers = {k: v for k, v in headers.items() if k.lower() in ("authorization", "host")}
            probe_headers["Accept"] = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json"
            conn, resp = self.forward("HEAD", path, probe_headers, None)
            resp.read()
            conn.close()
            if resp.status == 200:
                payload = json.dumps({"errors": [{"code": "TAG_INVALID", "message": "tag %s already exists and cannot be overwritten: the repository's tags are immutable" % parts[-1]}]}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
        conn, resp = self.forward(self.command, path, headers, body)
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    print("PORT=%d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
