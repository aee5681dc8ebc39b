#!/usr/bin/env python3
"""A minimal static HTTP/1.1 server for benchmarks that sends files with sendfile(2), so the server
itself costs almost no CPU and the clients being compared are what is measured.

Usage: sendfile_server.py DIRECTORY PORT   (binds 127.0.0.1; GET only; keep-alive)
"""
import os
import socket
import sys
import threading

root, port = os.path.realpath(sys.argv[1]), int(sys.argv[2])


def handle(conn):
    with conn:
        f = conn.makefile("rb")
        while True:
            line = f.readline(65536)
            if not line:
                return
            parts = line.decode("latin-1").split()
            while True:  # skip headers
                h = f.readline(65536)
                if h in (b"\r\n", b"\n", b""):
                    break
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                continue
            path = os.path.realpath(os.path.join(root, parts[1].lstrip("/")))
            if not path.startswith(root + os.sep) or not os.path.isfile(path):
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            size = os.path.getsize(path)
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nContent-Type: application/octet-stream\r\n\r\n".encode())
            if parts[0] == "GET":
                with open(path, "rb") as body:
                    conn.sendfile(body)


server = socket.create_server(("127.0.0.1", port), reuse_port=False)
print(f"listening on 127.0.0.1:{port}", flush=True)
while True:
    c, _ = server.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
