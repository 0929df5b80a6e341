#!/usr/bin/env python3
"""A loopback webhook for the bus tests (127.0.0.1 only).

    webhook.py --log FILE --port-file FILE [--port N] [--fail-first N]
               [--status CODE] [--delay SECONDS] [--secret S]

Each request is appended to --log as one JSON line: method, path, the
X-Vigil-* headers, the body, the status returned and, with --secret, whether
the signature (sha256 HMAC of "<timestamp>.<body>") verified. The first
--fail-first requests get 503; every request gets --status (default 200)
after --delay seconds. The listening port is written to --port-file.
"""
import argparse
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--log", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--status", type=int, default=200)
ap.add_argument("--delay", type=float, default=0.0)
ap.add_argument("--secret", default=None)
args = ap.parse_args()

lock = threading.Lock()
count = [0]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with lock:
            count[0] += 1
            k = count[0]
        status = 503 if k <= args.fail_first else args.status
        if args.delay:
            time.sleep(args.delay)
        rec = {
            "n": k,
            "path": self.path,
            "status": status,
            "event_id": self.headers.get("X-Vigil-Event-Id"),
            "rule": self.headers.get("X-Vigil-Rule"),
            "attempt": self.headers.get("X-Vigil-Attempt"),
            "content_type": self.headers.get("Content-Type"),
            "extra": self.headers.get("X-Extra"),
            "body": body.decode("utf-8", "replace"),
        }
        if args.secret is not None:
            ts = self.headers.get("X-Vigil-Timestamp", "")
            sig = self.headers.get("X-Vigil-Signature", "")
            want = "sha256=" + hmac.new(args.secret.encode(), ts.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
            rec["sig_ok"] = hmac.compare_digest(sig, want)
        try:
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except (BrokenPipeError, ConnectionResetError):
            rec["client_gone"] = True
        with lock:
            with open(args.log, "a") as f:
                f.write(json.dumps(rec) + "\n")


ThreadingHTTPServer.allow_reuse_address = True
srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.replace(args.port_file + ".tmp", args.port_file)
srv.serve_forever()
