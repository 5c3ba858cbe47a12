// An Agent API client on got, with got's default retry policy and `got.paginate` for
// lists (page numbers from the `pagination` object, as got's docs show for APIs without
// Link headers).
//
// Verdicts `launchgate referee` must give it (tests/referee.rs checks them), and why:
// - Reconciliation: FAIL. got never retries a POST, and this client logs a purchase
//   whose answer was lost as failed and moves on: it never looks the order up, although
//   the ledger committed it. The referee names the order as evidence.
// - Retry logic: pass. got retries GETs on 429/5xx after 1 s, 2 s (+ up to 100 ms) and
//   gives up after its limit of 2 retries: a bounded give-up is a pass. A 4xx is never
//   retried.
// - Rate-limit handling: FAIL. got waits Retry-After only for requests it retries; the
//   mock's early 429 lands on a POST, which got does not retry, and the app sends its
//   next order at once, inside the Retry-After window (the contract calls that hammering).
// - Notes, pagination, key type: pass.
//
// Installed by .ci/run with `npm ci` from examples/clients/node/package-lock.json.
import { randomUUID } from 'node:crypto';
import got from 'got';

const env = process.env;
const api = got.extend({
  prefixUrl: env.LAUNCHGATE_BASE_URL.replace(/\/$/, '') + '/api/agent/v1',
  headers: { 'x-agent-key': env.LAUNCHGATE_PARTNER_KEY, accept: 'application/json' },
  timeout: { request: 10000 },
  responseType: 'json',
});
const ORDERS = Number(env.EXAMPLE_ORDERS || 8);

const paginate = {
  transform: (response) => response.body.data,
  paginate: ({ response }) => {
    const p = response.body.pagination;
    if (p.current_page >= (p.last_page ?? p.current_page)) return false;
    return { searchParams: { page: p.current_page + 1, per_page: 100 } };
  },
};

async function main() {
  const all = await api.paginate.all('partner/transactions', {
    searchParams: { page: 1, per_page: 100 },
    pagination: paginate,
  });
  console.log('transactions:', all.length);
  for (let i = 0; i < ORDERS; i++) {
    const order = {
      card_id: env.LAUNCHGATE_CARD_ID,
      member_identifier: env.LAUNCHGATE_MEMBER_IDENTIFIER,
      purchase_amount: 6 + 0.5 * i,
      note: `Order #${randomUUID()}`,
    };
    try {
      await api.post('partner/transactions/purchase', { json: order });
    } catch (err) {
      // Logged as failed; never looked up.
      console.error(`order ${i} not completed: ${err.code || err.message}`);
    }
  }
  try {
    const balance = await api.get('member/balance', {
      headers: { 'x-agent-key': env.LAUNCHGATE_MEMBER_KEY },
    });
    console.log('member cards:', balance.body.data.length);
  } catch (err) {
    // got gave up after its retry limit: reported, not a crash.
    console.error(`balance not read: ${err.code || err.message}`);
  }
}

await main();
