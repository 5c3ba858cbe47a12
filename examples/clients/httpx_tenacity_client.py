#!/usr/bin/env python3
"""An Agent API client on httpx + tenacity whose retry decorator wraps the whole sale:
each attempt builds a fresh order id and note (a common shape, and a dangerous one).
tenacity is configured as its docs show: `wait_exponential_jitter`, `stop_after_attempt`.

Verdicts `launchgate referee` must give it (tests/referee.rs checks them), and why:
- Reconciliation: FAIL. After a dropped connection the decorator re-runs the sale with
  a new note, without looking the first attempt up: the ledger shows the order
  committed twice or more (the referee finds the replay by card, member and amount).
- Notes: FAIL (the same order under a new note per attempt).
- Retry logic: FAIL (retried under a new order id; and a 4xx is retried like a 5xx).
- Rate-limit handling: FAIL when its jittered wait after a 429 is shorter than
  Retry-After (tenacity does not read Retry-After here).
- Pagination, key type: pass.

Requires `httpx` and `tenacity` (installed by .ci/run from examples/clients/requirements.txt).
"""
import os
import sys
import uuid

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

BASE = os.environ["LAUNCHGATE_BASE_URL"].rstrip("/") + "/api/agent/v1"
PARTNER = {"X-Agent-Key": os.environ["LAUNCHGATE_PARTNER_KEY"]}
MEMBER_KEY = {"X-Agent-Key": os.environ["LAUNCHGATE_MEMBER_KEY"]}
CARD_ID = os.environ["LAUNCHGATE_CARD_ID"]
MEMBER = os.environ["LAUNCHGATE_MEMBER_IDENTIFIER"]
ORDERS = int(os.environ.get("EXAMPLE_ORDERS", "8"))

client = httpx.Client(base_url=BASE, timeout=10, headers={"Accept": "application/json"})
policy = dict(
    retry=retry_if_exception_type(httpx.HTTPError),
    wait=wait_exponential_jitter(initial=0.2, max=4, jitter=0.2),
    stop=stop_after_attempt(4),
    reraise=True,
)


@retry(**policy)
def get(path, headers=PARTNER, **params):
    r = client.get(path, headers=headers, params=params)
    r.raise_for_status()
    return r.json()


def pages(path, **filters):
    page = 1
    while True:
        out = get(path, page=page, per_page=100, **filters)
        yield from out["data"]
        if page >= out["pagination"].get("last_page", page):
            return
        page += 1


@retry(**policy)
def sell(n):
    # A fresh order id per call: a retry of this function is a new order to the ledger.
    order = {"card_id": CARD_ID, "member_identifier": MEMBER, "purchase_amount": round(3 + 0.5 * n, 2), "note": f"Order #{uuid.uuid4()}"}
    r = client.post("/partner/transactions/purchase", json=order, headers=PARTNER)
    r.raise_for_status()
    return r.json()


def main():
    print("transactions:", sum(1 for _ in pages("/partner/transactions")))
    for n in range(ORDERS):
        try:
            sell(n)
        except httpx.HTTPError as exc:
            print(f"order {n} not completed: {exc}", file=sys.stderr)
    print("member cards:", len(get("/member/balance", headers=MEMBER_KEY)["data"]))


if __name__ == "__main__":
    main()
