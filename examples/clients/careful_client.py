#!/usr/bin/env python3
"""A careful Agent API client: what the Production Checklist recommends.

Verdicts it must get from `launchgate referee`: pass on every one (rate-limit
handling, retry logic, reconciliation, notes, pagination, key type), at any
EXAMPLE_ORDERS and seed, because:
- it branches on retry_strategy: backs off exponentially (0.25 s doubling,
  at most 8 attempts) on `backoff`, honours Retry-After on 429, and surfaces
  no_retry / fix_request / contact_support errors without resending;
- every purchase carries one external order id in `note`, kept across its
  attempts; after an ambiguous failure (dropped connection, timeout) it looks
  the order up (the member's transactions on that card, today, walking pages
  until it finds the note) before any replay, and replays only if not found;
- it walks every page of a list it reads in full;
- it uses the member key for member-wallet operations.

Standard library only. Reads LAUNCHGATE_BASE_URL, LAUNCHGATE_PARTNER_KEY,
LAUNCHGATE_MEMBER_KEY, LAUNCHGATE_CARD_ID, LAUNCHGATE_MEMBER_IDENTIFIER;
EXAMPLE_ORDERS (default 8) sets the number of orders.
"""
import datetime
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = os.environ["LAUNCHGATE_BASE_URL"].rstrip("/") + "/api/agent/v1"
PARTNER_KEY = os.environ["LAUNCHGATE_PARTNER_KEY"]
MEMBER_KEY = os.environ["LAUNCHGATE_MEMBER_KEY"]
CARD_ID = os.environ["LAUNCHGATE_CARD_ID"]
MEMBER = os.environ["LAUNCHGATE_MEMBER_IDENTIFIER"]
ORDERS = int(os.environ.get("EXAMPLE_ORDERS", "8"))
MAX_ATTEMPTS = 8


class ApiError(Exception):
    """A definitive error: surfaced, never retried unchanged."""


class Ambiguous(Exception):
    """No answer: the request may or may not have taken effect."""


def call(method, path, body=None, key=PARTNER_KEY, query=None):
    url = BASE + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = json.dumps(body).encode() if body is not None else None
    delay = 0.25
    for _ in range(MAX_ATTEMPTS):
        req = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={"X-Agent-Key": key, "Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            try:
                payload = json.loads(err.read() or b"{}")
            except ValueError:
                payload = {}
            if err.code == 429:
                # Honour Retry-After (seconds), counted from the moment the answer arrived.
                time.sleep(int(err.headers.get("Retry-After", "1")) + 0.05)
                continue
            if payload.get("retry_strategy") in ("backoff", "retry_later") or err.code >= 500:
                time.sleep(delay)
                delay *= 2
                continue
            raise ApiError(f"{err.code} {payload.get('code')} ({payload.get('retry_strategy')})")
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
            raise Ambiguous(str(exc)) from exc
    raise ApiError(f"gave up after {MAX_ATTEMPTS} attempts")


def pages(path, key=PARTNER_KEY, per_page=100, **filters):
    """Yields the items of every page, in order; the caller may stop early."""
    page = 1
    while True:
        out = call("GET", path, key=key, query={**filters, "page": page, "per_page": per_page})
        yield from out.get("data", [])
        last = (out.get("pagination") or {}).get("last_page")
        # The documented form may omit last_page: then stop at an empty page.
        if (last is not None and page >= last) or (last is None and not out.get("data")):
            return
        page += 1


def order_exists(note):
    """Looks the order up: the member's transactions on the card, today (UTC)."""
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    found = pages(
        "/partner/transactions", member_identifier=MEMBER, card_id=CARD_ID, **{"from": today}, per_page=25
    )
    # any() stops paging at the first page that holds the note.
    return any(t.get("note") == note for t in found)


def purchase(order_no):
    note = f"Order #{uuid.uuid4()}"
    amount = round(10 + 0.25 * order_no, 2)
    body = {"card_id": CARD_ID, "member_identifier": MEMBER, "purchase_amount": amount, "note": note}
    for _ in range(3):
        try:
            return call("POST", "/partner/transactions/purchase", body)
        except Ambiguous:
            # Reconcile before replaying: did the purchase go through?
            if order_exists(note):
                return "reconciled"
    raise ApiError(f"{note} still ambiguous after reconciling")


def main():
    try:
        print("transactions:", sum(1 for _ in pages("/partner/transactions")))
    except ApiError as exc:
        print(f"transactions not listed: {exc}", file=sys.stderr)
    failed = 0
    for n in range(ORDERS):
        try:
            purchase(n)
        except (ApiError, Ambiguous) as exc:
            # Surfaced for a human; the next order goes on.
            failed += 1
            print(f"order {n} not completed: {exc}", file=sys.stderr)
    try:
        balance = call("GET", "/member/balance", key=MEMBER_KEY)
        print("member cards:", len(balance.get("data", [])))
    except ApiError as exc:
        print(f"balance not read: {exc}", file=sys.stderr)
    print("orders not completed:", failed)
    print("careful client done")


if __name__ == "__main__":
    main()
