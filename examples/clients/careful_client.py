#!/usr/bin/env python3
"""A careful Agent API client: what the Production Checklist recommends.

- Branches on retry_strategy: backs off exponentially (bounded) on `backoff`,
  honours Retry-After on 429, never retries no_retry / fix_request /
  contact_support errors.
- Puts a unique external order id in every purchase's `note`, and after an
  ambiguous failure (timeout, dropped connection) reconciles by listing the
  member's transactions and looking for that note before any replay.
- Walks every page of a list.
- Uses the member key for member-wallet operations.

`launchgate referee` must pass it on every verdict. Standard library only.
Reads LAUNCHGATE_BASE_URL, LAUNCHGATE_PARTNER_KEY, LAUNCHGATE_MEMBER_KEY,
LAUNCHGATE_CARD_ID and LAUNCHGATE_MEMBER_IDENTIFIER.
"""
import http.client
import json
import os
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
MAX_ATTEMPTS = 6


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
            with urllib.request.urlopen(req, timeout=5) as resp:
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


def all_pages(path, key=PARTNER_KEY, **filters):
    page = 1
    while True:
        out = call("GET", path, key=key, query={**filters, "page": page, "per_page": 25})
        yield from out.get("data", [])
        pagination = out.get("pagination", {})
        last = pagination.get("last_page")
        # The documented form may omit last_page: then stop at an empty page.
        if (last is not None and page >= last) or (last is None and not out.get("data")):
            return
        page += 1


def note_exists(note):
    return any(t.get("note") == note for t in all_pages("/partner/transactions", member_identifier=MEMBER))


def purchase(amount):
    note = f"Order #{uuid.uuid4()}"
    body = {"card_id": CARD_ID, "member_identifier": MEMBER, "purchase_amount": amount, "note": note}
    for _ in range(3):
        try:
            return call("POST", "/partner/transactions/purchase", body)
        except Ambiguous:
            # Reconcile before replaying: did the purchase go through?
            if note_exists(note):
                return "reconciled"
    raise ApiError("purchase still ambiguous after reconciling")


def main():
    print("transactions:", sum(1 for _ in all_pages("/partner/transactions")))
    for _ in range(ORDERS):
        purchase(12.5)
    balance = call("GET", "/member/balance", key=MEMBER_KEY)
    print("member cards:", len(balance.get("data", [])))
    print("careful client done")


if __name__ == "__main__":
    main()
