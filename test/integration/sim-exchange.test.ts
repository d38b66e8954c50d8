import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createExchangeClient,
  DownstreamError,
  type ExchangeClient,
  type ExchangeOrderRequest,
  type FillEvent,
  type FilledOrder,
  type FillSubscription,
  type RejectedOrder,
  subscribeFills,
} from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { TestWorld, waitFor } from '../support/harness.js';

/**
 * The exchange of `tradeflow sim` over HTTP and WebSocket, as the copy-trading engine will use
 * it: a lead trader's order, its fill event, a batch of 500 copier orders, the same batch
 * again (all replays), faults, and a ledger that stays conserved with no client order id
 * applied twice.
 */

const BTC = 'BTC-USDT-SWAP' as const;
const COPIERS = 500;

let world: TestWorld;
let admin: SimAdmin;
let url: string;
let exchange: ExchangeClient;
const subscriptions: FillSubscription[] = [];
const allFills: FillEvent[] = [];
const leadFills: FillEvent[] = [];

const copier = (i: number) => `copier-${i}`;
const hedged = (i: number) => i % 3 === 0;

/** One order per copier for signal `signal`: hedge-mode copiers name the position side. */
function copyBatch(signal: string, side: 'buy' | 'sell', qty: string): ExchangeOrderRequest[] {
  return Array.from({ length: COPIERS }, (_, i) => ({
    account: copier(i),
    clientOrderId: `${signal}:${copier(i)}`,
    instrument: BTC,
    side,
    qty,
    ...(hedged(i) ? { positionSide: 'long' as const } : {}),
  }));
}

async function failure(call: Promise<unknown>): Promise<DownstreamError> {
  const err = await call.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DownstreamError, `expected a DownstreamError, got ${String(err)}`);
  return err;
}

async function raw(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, json: await res.json() };
}

before(async () => {
  world = await new TestWorld().setUp();
  admin = await world.startSim();
  url = world.config.counterUrl;
  exchange = createExchangeClient(url, { timeoutMs: 5000, connections: 8 });
  subscriptions.push(await subscribeFills(url, { onFill: (e) => allFills.push(e) }));
  subscriptions.push(await subscribeFills(url, { accounts: ['lead'], onFill: (e) => leadFills.push(e) }));

  await exchange.createAccount({ account: 'lead', balances: { USDT: '100000' } });
  for (let i = 0; i < COPIERS; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, k) =>
        exchange.createAccount({
          account: copier(i + k),
          balances: { USDT: '1000' },
          positionMode: hedged(i + k) ? 'hedge' : 'one-way',
        }),
      ),
    );
  }
});

after(async () => {
  await Promise.allSettled(subscriptions.map((s) => s.close()));
  await exchange?.close();
  await world?.tearDown();
});

describe('exchange simulator over HTTP', () => {
  let leadOpen: FilledOrder;

  it('quotes the feed price with slippage and lists the instruments', async () => {
    const p = await exchange.price(BTC);
    assert.ok(
      Number(p.buyPrice) > Number(p.price) && Number(p.sellPrice) < Number(p.price),
      JSON.stringify(p),
    );
    const instruments = await exchange.instruments();
    assert.deepEqual(
      instruments.map((i) => `${i.instrument} ${i.contractSize} ${i.minQty} ${i.qtyStep} ${i.tickSize}`),
      ['BTC-USDT-SWAP 0.01 0.01 0.01 0.1', 'ETH-USDT-SWAP 0.1 0.01 0.01 0.01'],
    );
    const bad = await raw('GET', '/exchange/price?instrument=DOGE');
    assert.equal(bad.status, 400);
  });

  it("a lead trader's own order fills and is published as a fill event", async () => {
    assert.deepEqual(
      await exchange.setLeverage({ account: 'lead', instrument: BTC, leverage: 20, marginMode: 'isolated' }),
      {
        account: 'lead',
        instrument: BTC,
        leverage: 20,
        marginMode: 'isolated',
      },
    );
    leadOpen = await exchange.placeOrder({
      account: 'lead',
      clientOrderId: 'lead-1',
      instrument: BTC,
      side: 'buy',
      qty: '2',
    });
    assert.equal(leadOpen.status, 'filled');
    assert.equal(leadOpen.replay, false);
    const event = await waitFor('the lead fill event', async () => leadFills[0], 5000, 10);
    assert.deepEqual(event, {
      type: 'fill',
      account: 'lead',
      instrument: BTC,
      side: 'long',
      action: 'open',
      qty: '2',
      price: leadOpen.price,
      leverage: 20,
      positionBefore: '0',
      clientOrderId: 'lead-1',
      filledMs: leadOpen.filledMs,
      fillId: `${leadOpen.orderId}-1`,
    });
    await waitFor('the fill on the unfiltered subscription', async () => allFills.length === 1, 5000, 10);
    // the same order again: the first result, as a replay, and no second event
    const again = await exchange.placeOrder({
      account: 'lead',
      clientOrderId: 'lead-1',
      instrument: BTC,
      side: 'buy',
      qty: '2',
    });
    assert.deepEqual(again, { ...leadOpen, replay: true });
  });

  it('a batch of 500 copier orders fills in order, one result each; the same batch again is all replays', async (t) => {
    const batch = copyBatch('sig-1', 'buy', '0.05');
    const started = performance.now();
    const results = await exchange.placeOrders(batch);
    const ms = performance.now() - started;
    t.diagnostic(`batch of ${COPIERS}: ${ms.toFixed(1)} ms round trip`);
    assert.equal(results.length, COPIERS);
    results.forEach((r, i) => {
      assert.equal(r.status, 'filled', JSON.stringify(r));
      const f = r as FilledOrder;
      assert.equal(f.account, copier(i));
      assert.equal(f.clientOrderId, `sig-1:${copier(i)}`);
      assert.equal(f.qty, '0.05');
      assert.equal(f.replay, false);
    });
    const orderIds = results.map((r) => Number((r as FilledOrder).orderId));
    const first = orderIds[0] ?? 0;
    assert.deepEqual(
      orderIds,
      orderIds.map((_, i) => first + i),
      'applied in the order sent',
    );
    assert.ok(ms < 2000, `a batch of ${COPIERS} took ${ms} ms`);

    const before = await exchange.ledger();
    const again = await exchange.placeOrders(batch);
    again.forEach((r, i) => {
      assert.deepEqual(r, { ...results[i], replay: true });
    });
    const after = await exchange.ledger();
    assert.equal(after.replays - before.replays, COPIERS);
    assert.equal(after.ordersApplied, before.ordersApplied);
    assert.equal(after.journalEntries, before.journalEntries);

    const positions = await exchange.positions(copier(3));
    assert.equal(positions.positionMode, 'hedge');
    assert.deepEqual(
      positions.positions.map((p) => `${p.side} ${p.qty}`),
      ['long 0.05'],
    );
    // 501 fills so far, each published once; the lead's subscription saw only the lead's
    await waitFor('every fill event', async () => allFills.length === 1 + COPIERS, 10_000, 20);
    assert.equal(new Set(allFills.map((e) => e.fillId)).size, allFills.length);
    assert.deepEqual(
      allFills.slice(1).map((e) => e.clientOrderId),
      batch.map((o) => o.clientOrderId),
    );
    assert.deepEqual(
      leadFills.map((e) => e.account),
      ['lead'],
    );
  });

  it('rejects orders one by one in a batch, with their codes; the others fill', async () => {
    const base = { instrument: BTC, side: 'buy' as const, qty: '0.05' };
    const results = await exchange.placeOrders([
      { ...base, account: copier(1), clientOrderId: 'r:1', qty: '0.015' },
      { ...base, account: 'nobody', clientOrderId: 'r:2' },
      { ...base, account: copier(1), clientOrderId: 'r:3', side: 'sell', qty: '0.01', reduceOnly: false },
      { ...base, account: copier(2), clientOrderId: 'r:4', qty: '1000' },
      { ...base, account: copier(4), clientOrderId: 'r:5', side: 'sell', reduceOnly: true },
      { ...base, account: copier(0), clientOrderId: 'r:6' },
      {
        ...base,
        account: copier(3),
        clientOrderId: 'r:7',
        side: 'sell',
        positionSide: 'short',
        reduceOnly: true,
      },
      { account: copier(5), clientOrderId: 'r:8', instrument: 'DOGE', side: 'buy', qty: '1' } as never,
      { ...base, account: copier(7), clientOrderId: 'sig-1:copier-7', side: 'sell' },
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'filled' ? 'filled' : (r as RejectedOrder).code)),
      [
        'INVALID_QTY',
        'UNKNOWN_ACCOUNT',
        'filled',
        'INSUFFICIENT_MARGIN',
        'filled', // a one-way long of 0.05 reduced to nothing by a reduce-only sell of 0.05
        'INVALID_POSITION_SIDE',
        'REDUCE_ONLY_WOULD_INCREASE',
        'INVALID_REQUEST',
        'IDEMPOTENCY_CONFLICT',
      ],
    );
    assert.deepEqual(
      results.map((r) => r.clientOrderId),
      ['r:1', 'r:2', 'r:3', 'r:4', 'r:5', 'r:6', 'r:7', 'r:8', 'sig-1:copier-7'],
    );
    assert.deepEqual((await exchange.positions(copier(4))).positions, []);
  });

  it('a single rejected order is an error with its code; bad batches are refused whole', async () => {
    const margin = await failure(
      exchange.placeOrder({
        account: copier(10),
        clientOrderId: 'big',
        instrument: BTC,
        side: 'buy',
        qty: '100',
      }),
    );
    assert.deepEqual([margin.code, margin.status], ['INSUFFICIENT_MARGIN', 422]);
    const conflict = await failure(
      exchange.placeOrder({
        account: 'lead',
        clientOrderId: 'lead-1',
        instrument: BTC,
        side: 'sell',
        qty: '2',
      }),
    );
    assert.deepEqual([conflict.code, conflict.status], ['IDEMPOTENCY_CONFLICT', 409]);

    const tooMany = Array.from({ length: 1001 }, (_, i) => ({
      account: 'lead',
      clientOrderId: `many-${i}`,
      instrument: BTC,
      side: 'buy' as const,
      qty: '0.01',
    }));
    const big = await failure(exchange.placeOrders(tooMany));
    assert.deepEqual([big.code, big.status], ['BATCH_TOO_LARGE', 400]);
    const empty = await raw('POST', '/exchange/orders', { orders: [] });
    assert.equal(empty.status, 400);
    const notJson = await fetch(`${url}/exchange/orders`, { method: 'POST', body: '{"orders":' });
    assert.equal(notJson.status, 400);
    const unknown = await raw('GET', '/exchange/positions?account=nobody');
    assert.deepEqual(unknown, {
      status: 404,
      json: { code: 'UNKNOWN_ACCOUNT', message: 'no account nobody' },
    });
  });

  it('faults: a timeout applies the batch and holds the answer; the retry is all replays', async () => {
    await admin.setFaults({ 'exchange/orders': { timeoutRate: 1, timeoutHoldMs: 1500 } });
    const impatient = createExchangeClient(url, { timeoutMs: 300, connections: 2 });
    try {
      const batch = copyBatch('sig-2', 'buy', '0.02');
      const timedOut = await failure(impatient.placeOrders(batch));
      assert.equal(timedOut.code, 'TIMEOUT');
      const applied = await exchange.ledger();
      // what became of it, asked without placing anything
      const found = await exchange.lookupOrders([
        ...batch.slice(0, 3),
        { account: copier(0), clientOrderId: 'never-sent' },
        { account: 'nobody', clientOrderId: 'x' },
      ]);
      assert.deepEqual(
        found.map((r) => (r === null ? null : `${r.clientOrderId} ${r.qty} ${r.replay}`)),
        ['sig-2:copier-0 0.02 false', 'sig-2:copier-1 0.02 false', 'sig-2:copier-2 0.02 false', null, null],
      );
      assert.equal((await exchange.ledger()).ordersApplied, applied.ordersApplied);
      await admin.setFaults({});
      const retry = await exchange.placeOrders(batch);
      assert.ok(
        retry.every((r) => r.status === 'filled' && r.replay),
        'every order of the timed-out batch was applied once',
      );
      assert.equal((await exchange.ledger()).ordersApplied, applied.ordersApplied);
    } finally {
      await impatient.close();
      await admin.setFaults({});
    }
  });

  it('faults: 5xx and 429 apply nothing; injected rejections hit new orders only; latency delays', async () => {
    const before = await exchange.ledger();
    await admin.setFaults({ 'exchange/order': { errorRate: 1 }, 'exchange/orders': { rateLimitRate: 1 } });
    const single = {
      account: 'lead',
      clientOrderId: 'lead-2',
      instrument: BTC,
      side: 'buy' as const,
      qty: '1',
    };
    const err = await failure(exchange.placeOrder(single));
    assert.ok(['INTERNAL', 'UNAVAILABLE'].includes(err.code), err.code);
    const limited = await failure(exchange.placeOrders(copyBatch('sig-3', 'buy', '0.01')));
    assert.deepEqual([limited.code, limited.status], ['RATE_LIMITED', 429]);
    assert.equal((await exchange.ledger()).ordersApplied, before.ordersApplied);

    await admin.setFaults({ 'exchange/orders': { rejectRate: 1, rejectCode: 'ACCOUNT_FROZEN' } });
    const mixed = await exchange.placeOrders([
      ...copyBatch('sig-1', 'buy', '0.05').slice(0, 2),
      ...copyBatch('sig-3', 'buy', '0.01').slice(0, 2),
    ]);
    assert.deepEqual(
      mixed.map((r) => (r.status === 'filled' ? `replay ${r.replay}` : r.code)),
      ['replay true', 'replay true', 'ACCOUNT_FROZEN', 'ACCOUNT_FROZEN'],
    );

    await admin.setFaults({ 'exchange/order': { latencyMs: 250 } });
    const started = performance.now();
    await exchange.placeOrder(single);
    assert.ok(performance.now() - started >= 240, `answered after ${performance.now() - started} ms`);
    await admin.setFaults({});
  });

  it('the lead closes: a close event with the position before it; the ledger is conserved', async () => {
    const close = await exchange.placeOrder({
      account: 'lead',
      clientOrderId: 'lead-3',
      instrument: BTC,
      side: 'sell',
      qty: '1.5',
    });
    // lead-2 (1 contract) filled in the latency test: 3 contracts long before this close
    assert.deepEqual(close.legs, [
      {
        side: 'long',
        action: 'close',
        qty: '1.5',
        positionBefore: '3',
        positionAfter: '1.5',
        realisedPnl: close.realisedPnl,
      },
    ]);
    await waitFor('the close event', async () => leadFills.length === 3, 5000, 10);
    assert.deepEqual(
      leadFills.map((e) => `${e.action} ${e.side} ${e.qty} of ${e.positionBefore}`),
      ['open long 2 of 0', 'open long 1 of 2', 'close long 1.5 of 3'],
    );

    const ledger = await exchange.ledger();
    await waitFor('every fill event', async () => allFills.length === ledger.fills, 10_000, 20);
    assert.deepEqual(ledger.problems, []);
    assert.equal(ledger.conserved, true);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.deepEqual(ledger.totals, ledger.deposits);
    assert.deepEqual(ledger.deposits, { USDT: String(100_000 + 1000 * COPIERS) });
    assert.equal(ledger.accounts, COPIERS + 1);
    assert.ok(ledger.replays >= 2 * COPIERS + 1, `replays ${ledger.replays}`);
    assert.equal(Number(ledger.fees.USDT) > 0, true);
  });
});
