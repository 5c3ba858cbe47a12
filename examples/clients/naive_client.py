#!/usr/bin/env python3
"""A naive Agent API client: everything the Production Checklist warns against.

It retries every failure at once, replays purchases after a dropped
connection, sends no notes, reads only the first page of a list and uses its
partner key for a member-wallet call. `launchgate referee` must fail it on
every verdict it exercises. Standard library only.

Reads LAUNCHGATE_BASE_URL, LAUNCHGATE_PARTNER_KEY, LAUNCHGATE_CARD_ID and
LAUNCHGATE_MEMBER_IDENTIFIER, as `launchgate referee` provides them.
"""
import http.client
import json
import os
import urllib.error
import urllib.request

BASE = os.environ["LAUNCHGATE_BASE_URL"].rstrip("/") + "/api/agent/v1"
PARTNER_KEY = os.environ["LAUNCHGATE_PARTNER_KEY"]
CARD_ID = os.environ["LAUNCHGATE_CARD_ID"]
MEMBER = os.environ["LAUNCHGATE_MEMBER_IDENTIFIER"]
ORDERS = int(os.environ.get("EXAMPLE_ORDERS", "8"))


def call(method, path, body=None, key=PARTNER_KEY):
    data = json.dumps(body).encode() if body is not None else None
    # Retries anything, immediately. (Bounded only so the example ends.)
    for _ in range(12):
        req = urllib.request.Request(
            BASE + path,
            data=data,
            method=method,
            headers={"X-Agent-Key": key, "Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            err.read()
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError):
            pass
    return None


def main():
    # Assumes one page holds everything.
    first = call("GET", "/partner/transactions")
    print("transactions on page 1:", len((first or {}).get("data", [])))
    for _ in range(ORDERS):
        # No note: nothing to reconcile with later.
        call("POST", "/partner/transactions/purchase", {"card_id": CARD_ID, "member_identifier": MEMBER, "purchase_amount": 12.5})
    # A member-wallet operation with the partner key.
    call("GET", "/member/balance")
    print("naive client done")


if __name__ == "__main__":
    main()
