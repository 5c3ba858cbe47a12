#!/usr/bin/env python3
"""An Agent API client on httpx + stamina with stamina's default backoff (0.1 s initial,
doubling, up to 1 s of additive jitter, 5 s cap, 10 attempts).

Verdicts `launchgate referee` must give it (tests/referee.rs checks them), and why:
- Retry logic: pass, reliably. stamina's jitter makes delays like 974 ms then 831 ms;
  the referee's tolerance (a delay may fall short of the longest earlier one in its
  sequence by 1 s or half of it) accepts additive jitter of up to 1 s. Only 429 and
  5xx are retried; a 4xx is surfaced.
- Rate-limit handling: pass. The `on=` backoff hook returns Retry-After as the wait.
- Reconciliation: pass. stamina retries a POST only on a 429/5xx answer (nothing was
  written, the same note goes again); after a dropped connection the app looks the
  order up before any replay.
- Notes, pagination, key type: pass.

Requires `httpx` and `stamina` (installed by .ci/run from examples/clients/requirements.txt).
"""
import datetime
import os
import sys
import uuid

import httpx
import stamina

BASE = os.environ["LAUNCHGATE_BASE_URL"].rstrip("/") + "/api/agent/v1"
PARTNER = {"X-Agent-Key": os.environ["LAUNCHGATE_PARTNER_KEY"]}
MEMBER_KEY = {"X-Agent-Key": os.environ["LAUNCHGATE_MEMBER_KEY"]}
CARD_ID = os.environ["LAUNCHGATE_CARD_ID"]
MEMBER = os.environ["LAUNCHGATE_MEMBER_IDENTIFIER"]
ORDERS = int(os.environ.get("EXAMPLE_ORDERS", "8"))

client = httpx.Client(base_url=BASE, timeout=10, headers={"Accept": "application/json"})


def backoff_hook(exc):
    """stamina's `on=`: retry 429 (waiting Retry-After) and 5xx answers; nothing else."""
    if isinstance(exc, httpx.HTTPStatusError):
        if exc.response.status_code == 429:
            return float(exc.response.headers.get("Retry-After", "1")) + 0.05
        return exc.response.status_code >= 500
    return False


@stamina.retry(on=backoff_hook)
def request(method, path, headers=PARTNER, **kw):
    r = client.request(method, path, headers=headers, **kw)
    r.raise_for_status()
    return r.json()


def pages(path, **filters):
    page = 1
    while True:
        out = request("GET", path, params={**filters, "page": page, "per_page": 100})
        yield from out["data"]
        if page >= out["pagination"].get("last_page", page):
            return
        page += 1


def order_exists(note):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    found = pages("/partner/transactions", member_identifier=MEMBER, card_id=CARD_ID, **{"from": today})
    return any(t.get("note") == note for t in found)


def purchase(n):
    body = {"card_id": CARD_ID, "member_identifier": MEMBER, "purchase_amount": round(7 + 0.5 * n, 2), "note": f"Order #{uuid.uuid4()}"}
    for _ in range(3):
        try:
            return request("POST", "/partner/transactions/purchase", json=body)
        except httpx.TransportError:
            # No answer: the purchase may have committed. Look before replaying.
            if order_exists(body["note"]):
                return None
    raise RuntimeError("purchase still ambiguous")


def main():
    print("transactions:", sum(1 for _ in pages("/partner/transactions")))
    for n in range(ORDERS):
        try:
            purchase(n)
        except (httpx.HTTPError, RuntimeError) as exc:
            print(f"order {n} not completed: {exc}", file=sys.stderr)
    print("member cards:", len(request("GET", "/member/balance", headers=MEMBER_KEY)["data"]))


if __name__ == "__main__":
    main()
