#!/usr/bin/env python3
"""Serves a directory over HTTPS on 127.0.0.1 (tests: answers of a server, tampered by the test).

Usage: https-file-server.py DIRECTORY CERT KEY
Prints "port N" on the first line once listening; serves until killed.
"""
import functools
import http.server
import ssl
import sys


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    directory, cert, key = sys.argv[1:4]
    handler = functools.partial(Quiet, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
