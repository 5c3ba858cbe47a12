"""Independent webhook signature libraries, for tests/giftcard_mock.rs.

  receive PORT SCHEME SECRET N   serve HTTP on 127.0.0.1:PORT; verify each of N deliveries
                                 with the real library of SCHEME (standard-webhooks: the
                                 `standardwebhooks` package; stripe: `stripe`'s
                                 WebhookSignature); print one JSON line per delivery.
  sign SCHEME SECRET BODY_FILE   print the headers the real library signs BODY with, as JSON.

Pinned in .ci/run: standardwebhooks==1.1.0, stripe==16.1.0.
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def verify(scheme, secret, headers, body):
    if scheme == "standard-webhooks":
        from standardwebhooks.webhooks import Webhook

        Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    elif scheme == "stripe":
        import stripe

        lower = {k.lower(): v for k, v in headers.items()}
        stripe.WebhookSignature.verify_header(
            body, lower.get("stripe-signature"), secret, tolerance=300
        )
    else:
        raise ValueError("unknown scheme " + scheme)


def receive(port, scheme, secret, n):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                verify(scheme, secret, dict(self.headers.items()), body)
                out = {"ok": True}
            except Exception as e:  # the library's own verdict, reported as data
                out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            seen.append(out)
            print(json.dumps(out), flush=True)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", port), Handler)
    server.timeout = 1
    print(json.dumps({"listening": port}), flush=True)
    deadline = time.time() + 60
    while len(seen) < n and time.time() < deadline:
        server.handle_request()


def sign(scheme, secret, body):
    now = int(time.time())
    if scheme == "standard-webhooks":
        from standardwebhooks.webhooks import Webhook

        from datetime import datetime, timezone

        msg_id = "msg_launchgate_test"
        sig = Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, tz=timezone.utc), body.decode())
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": sig}
    elif scheme == "stripe":
        import stripe

        sig = stripe.WebhookSignature._compute_signature(f"{now}.{body.decode()}", secret)
        headers = {"Stripe-Signature": f"t={now},v1={sig}"}
    else:
        raise ValueError("unknown scheme " + scheme)
    print(json.dumps(headers))


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        with open(sys.argv[4], "rb") as f:
            sign(sys.argv[2], sys.argv[3], f.read())
