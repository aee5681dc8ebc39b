#!/usr/bin/env python3
"""Loopback HTTP(S) server for the SignetHTTP tests (Python 3 standard library only).

Usage: http-test-server.py [--host 127.0.0.1] [--port 0] [--tls]

Prints the bound port on the first line of stdout; with --tls, the second line is the path of
the CA certificate (PEM) that signed the server certificate. The server exits when its stdin
reaches end-of-file, so it never outlives the test process that started it.

Endpoints (bodies are a deterministic pattern: byte i of a body is i % 251):
  GET  /bytes/N                  N bytes with a correct Content-Length
  GET  /chunked/N                N bytes, Transfer-Encoding: chunked, no Content-Length
  GET  /close/N                  N bytes, no Content-Length, delimited by closing the connection
  GET  /lie-chunked/N            claims Content-Length: 10 but is chunked and carries N bytes
  GET  /lie-short/N              Content-Length: 10, then writes N bytes and closes
  GET  /slow/N?chunk=K&delay=MS  N bytes (Content-Length) in K-byte chunks, MS ms apart
  GET  /stall                    Content-Length: 1000, sends 10 bytes, then stalls for 20 s
  GET  /status/CODE?size=S       that status with a text body (S bytes if given)
  GET  /redirect?to=URL&code=C&size=S   redirect (default 302) to URL, S-byte body; any method
  GET  /chain/N                  302 to /chain/N-1 ... /chain/0 answers 200 "done"
  GET  /echo-headers             the request headers as a JSON list of [name, value]
  GET  /record?id=X              records the request (method + headers) under X; answers JSON
  GET  /recorded?id=X            JSON list of the requests recorded under X (404 if none)
  PUT|POST|PATCH /upload         JSON {method, length, sha256, headers} of the received body
  GET  /pattern-sha256?offset=O&length=L   sha256 hex of the pattern bytes [O, O+L)
  GET  /conn                     JSON {"port": client port} identifying the connection
  GET  /reset                    closes the connection with a TCP reset, no response
"""

import argparse
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PERIOD = 251
BLOCK = bytes(i % PERIOD for i in range(PERIOD * 4096))  # ~1 MiB, a whole number of periods

CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBZjCCAQygAwIBAgICEAAwCgYIKoZIzj0EAwIwGTEXMBUGA1UEAwwOU2lnbmV0
IFRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBkxFzAV
BgNVBAMMDlNpZ25ldCBUZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
A8mdYrcNm7FXgNMzxYAHelcLuJOx76D2+I0z4O5OYpwn0JrMswtDdLVZnkc9UgNY
Qf1cfSvRc9nTD32aWa0rCqNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E
BAMCAQYwHQYDVR0OBBYEFIavMZ2IhSUbFOp7i58F4+kO3E+pMAoGCCqGSM49BAMC
A0gAMEUCIQDqvZchNqN9A4BEQvMhfd4kJumGws7Y/+wgKLdyeOj9/AIgJsvSBLNJ
Grm6DHdzjAKEEfk+mmto2+69YVjndVg6EW0=
-----END CERTIFICATE-----
"""
CERT_PEM = """-----BEGIN CERTIFICATE-----
MIIBsjCCAVigAwIBAgICEAEwCgYIKoZIzj0EAwIwGTEXMBUGA1UEAwwOU2lnbmV0
IFRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQ
BgNVBAMMCTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABBSrGLmy
UiXP/jGk8yjftbk7/eRZEyKZ9KAQnyvqJAYQPVa0vZJIRQoJ7d31NtC/lseIX823
SxHqqUY8L2goRqWjgZIwgY8wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4Aw
EwYDVR0lBAwwCgYIKwYBBQUHAwEwGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0
MB0GA1UdDgQWBBTjs+Ke/2Jtg0dyKe1ENmItWLr1FTAfBgNVHSMEGDAWgBSGrzGd
iIUlGxTqe4ufBePpDtxPqTAKBggqhkjOPQQDAgNIADBFAiEA62LJOpQnxpwLIVmJ
4rbyiylJuN/kmS5EgeI6dr/Q/oQCIGv7ocQuuXMs3T+d+l6Ac/yeitG3Ta8Ujp9y
pXfEwQQO
-----END CERTIFICATE-----
"""
KEY_PEM = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgK/O255N820q+Ao7e
JhOkQHaDiF5gq4CNgu8GQjKH5+uhRANCAAQUqxi5slIlz/4xpPMo37W5O/3kWRMi
mfSgEJ8r6iQGED1WtL2SSEUKCe3d9TbQv5bHiF/Nt0sR6qlGPC9oKEal
-----END PRIVATE KEY-----
"""

RECORDS = {}
RECORDS_LOCK = threading.Lock()


def pattern_chunks(offset, length, chunk=len(BLOCK)):
    """Yields memoryviews covering pattern bytes [offset, offset + length)."""
    view = memoryview(BLOCK)
    position = offset
    end = offset + length
    while position < end:
        start = position % len(BLOCK)
        count = min(end - position, len(BLOCK) - start, chunk)
        yield view[start:start + count]
        position += count


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "signet-test"
    sys_version = ""

    def setup(self):
        super().setup()
        # Small header and body writes must not wait for delayed ACKs (Nagle's algorithm).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    # -- helpers -----------------------------------------------------------------------------

    def query(self):
        parts = urlsplit(self.path)
        return parts.path, {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length > 0 else b""

    def send_simple(self, code, body, content_type="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, value, code=200):
        self.send_simple(code, json.dumps(value).encode(), "application/json")

    def header_list(self):
        return [[name, value] for name, value in self.headers.items()]

    def write_chunked(self, data):
        self.wfile.write(b"%x\r\n" % len(data) + bytes(data) + b"\r\n")

    # -- dispatch ----------------------------------------------------------------------------

    def do_GET(self):
        self.dispatch(b"")

    def do_HEAD(self):
        self.dispatch(b"")

    def do_DELETE(self):
        self.dispatch(self.read_body())

    def do_PUT(self):
        self.dispatch(self.read_body())

    def do_POST(self):
        self.dispatch(self.read_body())

    def do_PATCH(self):
        self.dispatch(self.read_body())

    def dispatch(self, body):
        path, query = self.query()
        parts = path.strip("/").split("/")
        head = self.command == "HEAD"
        name = parts[0]
        arg = parts[1] if len(parts) > 1 else ""

        if name == "bytes":
            count = int(arg)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(count))
            self.end_headers()
            if not head:
                for piece in pattern_chunks(0, count):
                    self.wfile.write(piece)
        elif name in ("chunked", "lie-chunked"):
            count = int(arg)
            self.send_response(200)
            if name == "lie-chunked":
                self.send_header("Content-Length", "10")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in pattern_chunks(0, count, 64 * 1024):
                self.write_chunked(piece)
            self.wfile.write(b"0\r\n\r\n")
        elif name == "close":
            count = int(arg)
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for piece in pattern_chunks(0, count):
                self.wfile.write(piece)
            self.close_connection = True
        elif name == "lie-short":
            count = int(arg)
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.send_header("Connection", "close")
            self.end_headers()
            for piece in pattern_chunks(0, count):
                self.wfile.write(piece)
            self.close_connection = True
        elif name == "slow":
            count = int(arg)
            chunk = int(query.get("chunk", "1024"))
            delay = int(query.get("delay", "10")) / 1000.0
            self.send_response(200)
            self.send_header("Content-Length", str(count))
            self.end_headers()
            for piece in pattern_chunks(0, count, chunk):
                self.wfile.write(piece)
                time.sleep(delay)
        elif name == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(BLOCK[:10])
            time.sleep(20)
            self.close_connection = True
        elif name == "status":
            code = int(arg)
            size = query.get("size")
            text = ("status %d body\n" % code).encode()
            if size is not None:
                text = (text * (int(size) // len(text) + 1))[: int(size)]
            self.send_simple(code, text)
        elif name == "redirect":
            code = int(query.get("code", "302"))
            body = b"redirecting\n" * (int(query.get("size", "12")) // 12)
            self.send_simple(code, body, extra=[("Location", query.get("to", "/"))])
        elif name == "chain":
            remaining = int(arg)
            if remaining <= 0:
                self.send_simple(200, b"done")
            else:
                self.send_simple(302, b"", extra=[("Location", "/chain/%d" % (remaining - 1))])
        elif name == "echo-headers":
            self.send_json(self.header_list())
        elif name == "record":
            entry = {"method": self.command, "headers": self.header_list()}
            with RECORDS_LOCK:
                RECORDS.setdefault(query.get("id", ""), []).append(entry)
            self.send_json(entry)
        elif name == "recorded":
            with RECORDS_LOCK:
                entries = list(RECORDS.get(query.get("id", ""), []))
            if entries:
                self.send_json(entries)
            else:
                self.send_json([], 404)
        elif name == "upload":
            self.send_json({
                "method": self.command,
                "length": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "headers": self.header_list(),
            })
        elif name == "pattern-sha256":
            digest = hashlib.sha256()
            for piece in pattern_chunks(int(query.get("offset", "0")), int(query.get("length", "0"))):
                digest.update(piece)
            self.send_simple(200, digest.hexdigest().encode())
        elif name == "conn":
            self.send_json({"port": self.client_address[1]})
        elif name == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        else:
            self.send_simple(404, b"no such endpoint\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients in the tests abort transfers on purpose; broken connections are expected.
        kind = sys.exc_info()[0]
        if kind is not None and issubclass(kind, (ConnectionError, ssl.SSLError, OSError)):
            return
        super().handle_error(request, client_address)


def watch_stdin():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args()

    server = Server((args.host, args.port), Handler)
    ca_path = None
    if args.tls:
        directory = tempfile.mkdtemp(prefix="signet-http-test-")
        ca_path = os.path.join(directory, "ca.pem")
        cert_path = os.path.join(directory, "server.pem")
        key_path = os.path.join(directory, "server.key")
        for path, text in ((ca_path, CA_PEM), (cert_path, CERT_PEM), (key_path, KEY_PEM)):
            with open(path, "w") as handle:
                handle.write(text)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        server.socket = context.wrap_socket(server.socket, server_side=True)

    print(server.server_address[1], flush=True)
    if ca_path is not None:
        print(ca_path, flush=True)
    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
