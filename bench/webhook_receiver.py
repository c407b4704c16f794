"""A webhook receiver for bench/webhooks-throughput.sh: verifies every delivery as
docs/webhooks.md shows (Standard Webhooks, standard library only), counts the verified
ones per path, and answers GET /stats with the count and the span between the first and
the last delivery. Usage: webhook_receiver.py PORT PATH=SECRET [PATH=SECRET ...]"""

import base64, hashlib, hmac, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEYS = {}
for pair in sys.argv[2:]:
    path, secret = pair.split("=", 1)
    KEYS[path] = base64.b64decode(secret.removeprefix("whsec_"))
lock = threading.Lock()
stats = {"verified": 0, "refused": 0, "ids": set(), "first": None, "last": None}


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        msg_id, ts = self.headers["webhook-id"], self.headers["webhook-timestamp"]
        key = KEYS.get(self.path, b"")
        mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(mac).decode()
        fresh = abs(time.time() - int(ts)) < 300
        signed = any(hmac.compare_digest(expected, s) for s in self.headers["webhook-signature"].split())
        with lock:
            now = time.monotonic()
            stats["first"] = stats["first"] or now
            stats["last"] = now
            if fresh and signed:
                stats["verified"] += 1
                stats["ids"].add((self.path, msg_id))
            else:
                stats["refused"] += 1
        self.send_response(204 if fresh and signed else 401)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):
        with lock:
            span = (stats["last"] or 0) - (stats["first"] or 0)
            body = json.dumps({"verified": stats["verified"], "refused": stats["refused"],
                               "unique": len(stats["ids"]), "span_seconds": span}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
