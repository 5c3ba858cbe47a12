// An Agent API client on axios + axios-retry, configured as the axios-retry README shows:
// `axiosRetry(client, { retries: 3, retryDelay: axiosRetry.exponentialDelay })`.
//
// Verdicts `launchgate referee` must give it (tests/referee.rs checks them), and why:
// - Reconciliation: FAIL. axios-retry's default retryCondition retries network errors
//   for every method, POST included: a purchase whose answer was lost after the commit
//   is replayed (same note) without being looked up, and the ledger shows it twice.
// - Retry logic: pass. exponentialDelay waits 200 ms, 400 ms, 800 ms (+0-20 %), and the
//   default condition retries only 429/5xx of idempotent requests, never a 4xx.
// - Rate-limit handling: FAIL. exponentialDelay waits at least Retry-After, but only for
//   requests axios-retry retries; the mock's early 429 lands on a POST, which it does not
//   retry, and the app sends its next order at once, inside the Retry-After window.
// - Notes, pagination, key type: pass.
//
// Installed by .ci/run with `npm ci` from examples/clients/node/package-lock.json.
import { randomUUID } from 'node:crypto';
import axios from 'axios';
import axiosRetry from 'axios-retry';

const env = process.env;
const client = axios.create({
  baseURL: env.LAUNCHGATE_BASE_URL.replace(/\/$/, '') + '/api/agent/v1',
  timeout: 10000,
  headers: { 'X-Agent-Key': env.LAUNCHGATE_PARTNER_KEY, Accept: 'application/json' },
});
axiosRetry(client, { retries: 3, retryDelay: axiosRetry.exponentialDelay });
const ORDERS = Number(env.EXAMPLE_ORDERS || 8);

async function* pages(path, params = {}) {
  for (let page = 1; ; page++) {
    const { data } = await client.get(path, { params: { ...params, page, per_page: 100 } });
    yield* data.data;
    if (page >= (data.pagination.last_page ?? page)) return;
  }
}

async function main() {
  let n = 0;
  for await (const _ of pages('/partner/transactions')) n++;
  console.log('transactions:', n);
  for (let i = 0; i < ORDERS; i++) {
    const order = {
      card_id: env.LAUNCHGATE_CARD_ID,
      member_identifier: env.LAUNCHGATE_MEMBER_IDENTIFIER,
      purchase_amount: 4 + 0.5 * i,
      note: `Order #${randomUUID()}`,
    };
    try {
      await client.post('/partner/transactions/purchase', order);
    } catch (err) {
      console.error(`order ${i} not completed: ${err.message}`);
    }
  }
  try {
    const { data } = await client.get('/member/balance', {
      headers: { 'X-Agent-Key': env.LAUNCHGATE_MEMBER_KEY },
    });
    console.log('member cards:', data.data.length);
  } catch (err) {
    console.error(`balance not read: ${err.message}`);
  }
}

await main();
