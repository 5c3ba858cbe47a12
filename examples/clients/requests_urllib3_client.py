#!/usr/bin/env python3
"""An Agent API client on requests + urllib3 `Retry`, mounted as the urllib3 docs show:
`HTTPAdapter(max_retries=Retry(total=5, backoff_factor=0.2, status_forcelist=[429, 500, 502, 503, 504]))`.

Verdicts `launchgate referee` must give it (tests/referee.rs checks them), and why:
- Retry logic: FAIL, named as a policy finding. urllib3 2.x's Retry sleeps 0 s before
  its first retry (`get_backoff_time` is 0 after one error), then backs off
  (0.4 s, 0.8 s, ...). The checklist asks for backoff before every retry; with
  `--allow-immediate-first-retry` the referee accepts the policy and passes it.
- Rate-limit handling: pass. Retry honours Retry-After on GETs
  (`respect_retry_after_header`); for a POST, which Retry does not retry, the app
  waits Retry-After itself.
- Reconciliation: pass. Retry never replays a POST (not in `allowed_methods`); after
  a dropped connection the app looks the order up before replaying.
- Notes, pagination, key type: pass (one note per order, every page, member key for
  the wallet).

Requires `requests` (installed by .ci/run from examples/clients/requirements.txt).
"""
import datetime
import os
import sys
import time
import uuid

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

BASE = os.environ["LAUNCHGATE_BASE_URL"].rstrip("/") + "/api/agent/v1"
PARTNER = {"X-Agent-Key": os.environ["LAUNCHGATE_PARTNER_KEY"], "Accept": "application/json"}
MEMBER_KEY = {"X-Agent-Key": os.environ["LAUNCHGATE_MEMBER_KEY"], "Accept": "application/json"}
CARD_ID = os.environ["LAUNCHGATE_CARD_ID"]
MEMBER = os.environ["LAUNCHGATE_MEMBER_IDENTIFIER"]
ORDERS = int(os.environ.get("EXAMPLE_ORDERS", "8"))

session = requests.Session()
session.mount("http://", HTTPAdapter(max_retries=Retry(total=5, backoff_factor=0.2, status_forcelist=[429, 500, 502, 503, 504])))


def get(path, headers=PARTNER, **params):
    r = session.get(BASE + path, headers=headers, params=params, timeout=10)
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


def order_exists(note):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    found = pages("/partner/transactions", member_identifier=MEMBER, card_id=CARD_ID, **{"from": today})
    return any(t.get("note") == note for t in found)


def purchase(n):
    body = {"card_id": CARD_ID, "member_identifier": MEMBER, "purchase_amount": round(5 + 0.5 * n, 2), "note": f"Order #{uuid.uuid4()}"}
    for _ in range(5):
        try:
            r = session.post(BASE + "/partner/transactions/purchase", json=body, headers=PARTNER, timeout=10)
        except requests.ConnectionError:
            # No answer: the purchase may have committed. Look before replaying.
            if order_exists(body["note"]):
                return
            continue
        if r.status_code == 429:
            time.sleep(float(r.headers.get("Retry-After", "1")) + 0.05)
            continue
        r.raise_for_status()
        return
    raise RuntimeError("purchase not completed")


def main():
    print("transactions:", sum(1 for _ in pages("/partner/transactions")))
    for n in range(ORDERS):
        try:
            purchase(n)
        except (requests.RequestException, RuntimeError) as exc:
            print(f"order {n} not completed: {exc}", file=sys.stderr)
    print("member cards:", len(get("/member/balance", headers=MEMBER_KEY)["data"]))


if __name__ == "__main__":
    main()
