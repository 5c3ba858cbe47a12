#!/usr/bin/env python3
"""A concurrent Agent API client: httpx.AsyncClient, asyncio.gather over the orders (four
workers sending with one key at once), stamina retrying each request with its default
backoff (0.1 s initial, doubling, up to 1 s of additive jitter, 5 s cap, 10 attempts).

Verdicts `launchgate referee` must give it (tests/referee.rs checks them), and why:
- Retry logic: pass. Each request is retried on its own (429 and 5xx only, never a
  4xx); the referee follows each request's retries through the other workers' requests
  in between, so every retry is judged, and each backs off.
- Rate-limit handling: pass. One gate per key: a 429 read by any worker holds every
  worker of that key until Retry-After has passed. Requests already on their way when
  the 429 was answered cannot honour it; the referee does not count them.
- Reconciliation: pass. stamina retries a POST only on a 429/5xx answer (nothing was
  written; the same note goes again); after a dropped connection the worker looks its
  order up by note before any replay. Lookups go one at a time (a lock): workers whose
  answers were lost together do not send the same list request at once, which from the
  server's side is indistinguishable from a retry without backoff.
- Notes: pass (one note per order, kept across its attempts). Pagination: pass: the
  transaction history is read to its last page by several workers at once (EXAMPLE_WALKERS,
  default 3), while the orders go; the referee follows each walk through the same list on
  its own, so their interleaved pages are no walk cut short. No two workers send the same
  page request at once (a lock per request, held across its retries): a second identical
  request right after the first one's error is, from the server's side, a retry without
  backoff, so each worker's page follows the other's answer. Key type: pass.

Requires `httpx` and `stamina` (installed by .ci/run from examples/clients/requirements.txt).
EXAMPLE_ORDERS (default 12) sets the number of orders, EXAMPLE_WORKERS (default 4) how
many go at once, EXAMPLE_WALKERS (default 3) how many workers read the history at once.
"""
import asyncio
import datetime
import os
import sys
import uuid

import httpx
import stamina

BASE = os.environ["LAUNCHGATE_BASE_URL"].rstrip("/") + "/api/agent/v1"
PARTNER_KEY = os.environ["LAUNCHGATE_PARTNER_KEY"]
MEMBER_KEY = os.environ["LAUNCHGATE_MEMBER_KEY"]
CARD_ID = os.environ["LAUNCHGATE_CARD_ID"]
MEMBER = os.environ["LAUNCHGATE_MEMBER_IDENTIFIER"]
ORDERS = int(os.environ.get("EXAMPLE_ORDERS", "12"))
WORKERS = int(os.environ.get("EXAMPLE_WORKERS", "4"))
WALKERS = int(os.environ.get("EXAMPLE_WALKERS", "3"))


class Gate:
    """One per key: after a 429, no worker sends with that key until Retry-After."""

    def __init__(self):
        self.until = 0.0

    async def wait(self):
        loop = asyncio.get_running_loop()
        while (delay := self.until - loop.time()) > 0:
            await asyncio.sleep(delay)

    def block(self, seconds):
        loop = asyncio.get_running_loop()
        self.until = max(self.until, loop.time() + seconds)


GATES = {PARTNER_KEY: Gate(), MEMBER_KEY: Gate()}
LOOKUPS = asyncio.Lock()
# One lock per distinct page request, so identical requests never go at once.
SAME_REQUEST = {}


def backoff_hook(exc):
    """stamina's `on=`: retry 429 (the gate holds the wait) and 5xx answers; nothing else."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return False


@stamina.retry(on=backoff_hook)
async def request(client, method, path, key=PARTNER_KEY, **kw):
    gate = GATES[key]
    await gate.wait()
    r = await client.request(method, path, headers={"X-Agent-Key": key}, **kw)
    if r.status_code == 429:
        # Close the gate before anything else runs: the other workers wait too.
        gate.block(float(r.headers.get("Retry-After", "1")) + 0.05)
    r.raise_for_status()
    return r.json()


async def pages(client, path, **filters):
    page = 1
    while True:
        params = {**filters, "page": page, "per_page": 100}
        lock = SAME_REQUEST.setdefault((path, tuple(sorted(params.items()))), asyncio.Lock())
        async with lock:
            out = await request(client, "GET", path, params=params)
        for item in out["data"]:
            yield item
        if page >= out["pagination"].get("last_page", page):
            return
        page += 1


async def order_exists(client, note):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    async with LOOKUPS:
        async for t in pages(client, "/partner/transactions", member_identifier=MEMBER, card_id=CARD_ID, **{"from": today}):
            if t.get("note") == note:
                return True
    return False


async def purchase(client, workers, n):
    body = {"card_id": CARD_ID, "member_identifier": MEMBER, "purchase_amount": round(6 + 0.5 * n, 2), "note": f"Order #{uuid.uuid4()}"}
    async with workers:
        try:
            for _ in range(3):
                try:
                    return await request(client, "POST", "/partner/transactions/purchase", json=body)
                except httpx.TransportError:
                    # No answer: the purchase may have committed. Look before replaying.
                    if await order_exists(client, body["note"]):
                        return None
            raise RuntimeError("purchase still ambiguous")
        except (httpx.HTTPError, RuntimeError) as exc:
            print(f"order {n} not completed: {exc!r}", file=sys.stderr)


async def history(client, walker):
    try:
        n = len([t async for t in pages(client, "/partner/transactions")])
        print(f"transactions (walker {walker}):", n)
    except httpx.HTTPError as exc:
        print(f"transactions not listed: {exc!r}", file=sys.stderr)


async def main():
    workers = asyncio.Semaphore(WORKERS)
    async with httpx.AsyncClient(base_url=BASE, timeout=10, headers={"Accept": "application/json"}) as client:
        walks = (history(client, w) for w in range(WALKERS))
        await asyncio.gather(*walks, *(purchase(client, workers, n) for n in range(ORDERS)))
        balance = await request(client, "GET", "/member/balance", key=MEMBER_KEY)
        print("member cards:", len(balance["data"]))
    print("concurrent client done")


if __name__ == "__main__":
    asyncio.run(main())
