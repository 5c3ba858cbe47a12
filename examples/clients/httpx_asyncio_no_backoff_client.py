#!/usr/bin/env python3
"""A concurrent Agent API client like httpx_asyncio_client.py (httpx.AsyncClient,
asyncio.gather, four workers with one key, a Retry-After gate per key, lookups before
replays), but retrying with tenacity configured without a `wait=`: tenacity's default is
no wait at all, so a 500 is retried at once.

Verdicts `launchgate referee` must give it (tests/referee.rs checks them), and why:
- Retry logic: FAIL, "retry without backoff". Each retry follows its 500 within
  milliseconds. Other workers' requests come in between, but the referee follows each
  request's own retries (by method, path and query; a write by its order), so the
  interleaving hides nothing.
- Rate-limit handling: pass. A 429 closes the key's gate for every worker until
  Retry-After; the retry of the 429'd request waits at the gate too.
- Reconciliation, notes, pagination, key type: pass, as for the careful concurrent client.

Requires `httpx` and `tenacity` (installed by .ci/run from examples/clients/requirements.txt).
EXAMPLE_ORDERS (default 12) sets the number of orders, EXAMPLE_WORKERS (default 4) how
many go at once.
"""
import asyncio
import datetime
import os
import sys
import uuid

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

BASE = os.environ["LAUNCHGATE_BASE_URL"].rstrip("/") + "/api/agent/v1"
PARTNER_KEY = os.environ["LAUNCHGATE_PARTNER_KEY"]
MEMBER_KEY = os.environ["LAUNCHGATE_MEMBER_KEY"]
CARD_ID = os.environ["LAUNCHGATE_CARD_ID"]
MEMBER = os.environ["LAUNCHGATE_MEMBER_IDENTIFIER"]
ORDERS = int(os.environ.get("EXAMPLE_ORDERS", "12"))
WORKERS = int(os.environ.get("EXAMPLE_WORKERS", "4"))


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


def retryable(exc):
    """429 and 5xx answers; never a 4xx, never a lost answer."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return False


async def send(client, method, path, key, **kw):
    gate = GATES[key]
    await gate.wait()
    r = await client.request(method, path, headers={"X-Agent-Key": key}, **kw)
    if r.status_code == 429:
        gate.block(float(r.headers.get("Retry-After", "1")) + 0.05)
    r.raise_for_status()
    return r.json()


async def request(client, method, path, key=PARTNER_KEY, **kw):
    # The misconfiguration: no `wait=`, so tenacity retries at once.
    async for attempt in AsyncRetrying(retry=retry_if_exception(retryable), stop=stop_after_attempt(6), reraise=True):
        with attempt:
            return await send(client, method, path, key, **kw)


async def pages(client, path, **filters):
    page = 1
    while True:
        out = await request(client, "GET", path, params={**filters, "page": page, "per_page": 100})
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
                    if await order_exists(client, body["note"]):
                        return None
            raise RuntimeError("purchase still ambiguous")
        except (httpx.HTTPError, RuntimeError) as exc:
            print(f"order {n} not completed: {exc!r}", file=sys.stderr)


async def history(client):
    try:
        print("transactions:", len([t async for t in pages(client, "/partner/transactions")]))
    except httpx.HTTPError as exc:
        print(f"transactions not listed: {exc!r}", file=sys.stderr)


async def main():
    workers = asyncio.Semaphore(WORKERS)
    async with httpx.AsyncClient(base_url=BASE, timeout=10, headers={"Accept": "application/json"}) as client:
        await asyncio.gather(history(client), *(purchase(client, workers, n) for n in range(ORDERS)))
        balance = await request(client, "GET", "/member/balance", key=MEMBER_KEY)
        print("member cards:", len(balance["data"]))
    print("concurrent client without backoff done")


if __name__ == "__main__":
    asyncio.run(main())
