#!/usr/bin/env python3
"""Small purpose-written clients for tests/referee.rs: each MODE is one behaviour the
referee once judged wrong (a false pass or a false failure), or one way a client can
misbehave as a process. Standard library only.

Every mode except the process ones writes a few orders first, surfacing definitive
errors (never resending them) and reconciling an ambiguous write unless the mode is
about not doing so, so that the verdicts not under test stay quiet.
"""
import datetime
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = os.environ["LAUNCHGATE_BASE_URL"].rstrip("/") + "/api/agent/v1"
KEY = os.environ["LAUNCHGATE_PARTNER_KEY"]
MEMBER_KEY = os.environ["LAUNCHGATE_MEMBER_KEY"]
CARD = os.environ["LAUNCHGATE_CARD_ID"]
MEMBER = os.environ["LAUNCHGATE_MEMBER_IDENTIFIER"]
MODE = sys.argv[1]


class Ambiguous(Exception):
    pass


class Refused(Exception):
    def __init__(self, status, headers):
        super().__init__(status)
        self.status = status
        self.headers = headers


def send(method, path, body=None, query=None, key=KEY, headers=None):
    url = BASE + path + ("?" + urllib.parse.urlencode(query) if query else "")
    h = {"X-Agent-Key": key, "Content-Type": "application/json", "Accept": "application/json"}
    h.update(headers or {})
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        e.read()
        raise Refused(e.code, e.headers)
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as e:
        raise Ambiguous(str(e))


def polite(method, path, delays=(0.3, 0.6, 1.2, 2.4), **kw):
    """Retries 429 after Retry-After and 5xx with the given delays; raises the rest."""
    delays = list(delays)
    while True:
        try:
            return send(method, path, **kw)
        except Refused as e:
            if e.status == 429:
                time.sleep(float(e.headers.get("Retry-After", "1")) + 0.05)
            elif e.status >= 500 and delays:
                time.sleep(delays.pop(0))
            else:
                raise


def found(note):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    out = polite("GET", "/partner/transactions", query={"member_identifier": MEMBER, "card_id": CARD, "from": today, "per_page": 100})
    return any(t.get("note") == note for t in out["data"])


def order(n, reconcile=True, new_note_on_replay=False):
    note = f"Order #{uuid.uuid4()}"
    body = {"card_id": CARD, "member_identifier": MEMBER, "purchase_amount": 20 + n, "note": note}
    for _ in range(3):
        try:
            return polite("POST", "/partner/transactions/purchase", body=body)
        except Refused:
            return None  # definitive: surfaced, not resent
        except Ambiguous:
            if reconcile:
                if found(body["note"]):
                    return None
            elif new_note_on_replay:
                body = {**body, "note": f"Order #{uuid.uuid4()}"}
                continue
            else:
                return None  # logged as failed, never looked up
    return None


def orders(n=9, **kw):
    for i in range(n):
        order(i, **kw)


def main():
    if MODE == "never-reconciles":
        orders(reconcile=False)
        # Reads that cannot find the order: a redemptions report, and a lookup answered 429
        # (the per-key window is spent on card reads first).
        polite("GET", "/partner/transactions", query={"event": "staff_redeemed_points_for_reward"})
        for _ in range(40):
            try:
                send("GET", "/partner/cards")
            except Refused as e:
                if e.status == 429:
                    break
        try:
            send("GET", "/partner/transactions", query={"member_identifier": MEMBER})
        except Refused as e:
            print("lookup refused:", e.status)
    elif MODE == "new-note-replay":
        orders(reconcile=False, new_note_on_replay=True)
    elif MODE == "jitter":
        orders()
        # The first GET after the early 429 meets a burst of three 500s: stamina-like
        # jittered delays, the second shorter than the first.
        polite("GET", "/partner/rewards", delays=(0.974, 0.831, 1.05))
    elif MODE == "bounded-give-up":
        orders()
        try:
            polite("GET", "/partner/rewards", delays=(0.3, 0.6))
        except Refused as e:
            print("gave up as configured:", e.status)
        polite("GET", "/partner/cards")
    elif MODE == "early-exit-search":
        orders()
        note = f"Order #{uuid.uuid4()}"
        polite("POST", "/partner/transactions/purchase", body={"card_id": CARD, "member_identifier": MEMBER, "purchase_amount": 3.5, "note": note})
        # Search newest-first pages for our own order; stop at the page that has it.
        page = 1
        while True:
            out = polite("GET", "/partner/transactions", query={"member_identifier": MEMBER, "per_page": 25, "page": page})
            if any(t.get("note") == note for t in out["data"]) or page >= out["pagination"]["last_page"]:
                break
            page += 1
        print("found on page", page)
    elif MODE == "late-retry":
        orders()
        for _ in range(14):
            polite("GET", "/partner/cards")
        time.sleep(0.5)
        # Late in the run, one routine query fails once and is retried after 300 ms.
        try:
            send("GET", "/partner/cards", headers={"X-Launchgate-Fault": "internal-error"})
        except Refused:
            time.sleep(0.3)
            polite("GET", "/partner/cards")
    elif MODE == "key-in-query":
        send_wrong = lambda: send("GET", "/member/balance", query={"api_key": KEY, "page": 1})
        try:
            send_wrong()
        except Refused:
            pass
    elif MODE == "non-utf8":
        out = sys.stdout.buffer
        out.write(b"bad bytes: \xff\xfe\xc3(\n")
        out.write(b"y" * 3_000_000)  # one line without a newline, 3 MB
        out.write(b"\nafter the long line\n")
        out.flush()
        for _ in range(3):
            polite("GET", "/partner/cards")
            out.write(b"still here \x80\n")
            out.flush()
        print("non-utf8 client done")
    elif MODE == "crash":
        polite("GET", "/partner/cards")
        os.kill(os.getpid(), 9)
    elif MODE == "exit-3":
        polite("GET", "/partner/cards")
        sys.exit(3)
    elif MODE == "silent":
        print("I talk to nobody")
    elif MODE == "grandchild":
        # A daemon-like grandchild that outlives the client; the referee must end it.
        child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(sys.argv[2], "w") as f:
            f.write(str(child.pid))
        polite("GET", "/partner/cards")
    elif MODE == "hang":
        polite("GET", "/partner/cards")
        time.sleep(600)
    else:
        sys.exit(f"unknown mode {MODE}")


if __name__ == "__main__":
    main()
