"""Metadata proxy for one namespace: listens on 169.254.169.254:80 *inside* the namespace
(setns at bind, then back to the host's namespace) and forwards each request to the API's
metadata endpoint, naming the instance by network (or router) and source address, signed
with the shared secret (HMAC-SHA256 over "<network or router id>:<source ip>").

    python -m apps.network.drivers.linux.metadata_proxy --netns qdhcp-<id> --network-id <id> \
        --url http://api/metadata --secret-file <file> --pid-file <file>

No Django here: a host process of the driver.
"""
import argparse
import hashlib
import hmac
import http.server
import os
import socket
import socketserver
import sys
import urllib.error
import urllib.request

from pyroute2 import netns

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host",
              "content-length"}


def signature(secret, owner_id, source_ip):
    return hmac.new(secret.encode(), f"{owner_id}:{source_ip}".encode(), hashlib.sha256).hexdigest()


def bind_in_namespace(namespace, address, port):
    """A listening socket inside ``namespace``; the process stays in its own namespace."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        netns.setns(namespace)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
    finally:
        netns.setns(own)
        os.close(own)
    return sock


def make_handler(url, owner_header, owner_id, secret):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def _forward(self):
            source = self.client_address[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers.update({"X-Forwarded-For": source, owner_header: owner_id,
                            "X-Monostack-Metadata-Signature": signature(secret, owner_id, source)})
            request = urllib.request.Request(url.rstrip("/") + self.path, data=body, headers=headers,
                                             method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, payload, ctype = response.status, response.read(), response.headers.get("Content-Type")
            except urllib.error.HTTPError as e:
                status, payload, ctype = e.code, e.read(), e.headers.get("Content-Type")
            except (urllib.error.URLError, OSError) as e:
                status, payload, ctype = 502, f"metadata service unreachable: {e}\n".encode(), "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", ctype or "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_HEAD = _forward

        def log_message(self, fmt, *args):
            sys.stderr.write("%s %s\n" % (self.client_address[0], fmt % args))

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, sock, handler):
        super().__init__(sock.getsockname(), handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--netns", required=True)
    parser.add_argument("--network-id")
    parser.add_argument("--router-id")
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret-file")
    parser.add_argument("--pid-file")
    parser.add_argument("--address", default="169.254.169.254")
    parser.add_argument("--port", type=int, default=80)
    args = parser.parse_args(argv)
    secret = ""
    if args.secret_file and os.path.exists(args.secret_file):
        with open(args.secret_file) as fh:
            secret = fh.read().strip()
    if args.router_id:
        owner_header, owner_id = "X-Neutron-Router-ID", args.router_id
    else:
        owner_header, owner_id = "X-Neutron-Network-ID", args.network_id
    sock = bind_in_namespace(args.netns, args.address, args.port)
    if args.pid_file:
        with open(args.pid_file, "w") as fh:
            fh.write(str(os.getpid()))
    Server(sock, make_handler(args.url, owner_header, owner_id, secret)).serve_forever()


if __name__ == "__main__":
    main()
