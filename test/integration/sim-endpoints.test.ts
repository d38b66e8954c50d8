import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { createDownstream, type Downstream, DownstreamError } from '../../src/clients/downstream.js';
import { createSimAdmin, type SimAdmin } from '../../src/clients/sim-admin.js';
import type { LedgerView } from '../../src/clients/wire.js';
import { Money } from '../../src/domain/money.js';
import { createLogger } from '../../src/infra/log.js';
import { createDb, createPool, type Pool } from '../../src/infra/mysql/client.js';
import { syncOrder } from '../../src/infra/mysql/counter-schema.js';
import { migrateDatabase } from '../../src/infra/mysql/migrate.js';
import { type RunningSim, startSim } from '../../src/sim/server.js';

const MYSQL_URL = process.env.TF_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const COUNTER_DB = `tf_test_sim_${randomBytes(4).toString('hex')}`;
const FEE_RATE = '0.001';
const run = randomBytes(3).toString('hex');

let sim: RunningSim;
let url: string;
let client: Downstream;
let admin: SimAdmin;
let counterPool: Pool;

/** A fresh order id per test, so tests share the simulator without sharing keys or users. */
let seq = 0;
const orderId = () => `${run}-${++seq}`;

async function rejects(
  call: Promise<unknown>,
  code: string,
  status: number | undefined,
): Promise<DownstreamError> {
  const err = await call.then(
    () => assert.fail(`expected ${code}, the call succeeded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DownstreamError, `expected a DownstreamError, got ${String(err)}`);
  assert.equal(err.name, 'DownstreamError');
  assert.equal(err.code, code, err.message);
  assert.equal(err.status, status);
  return err;
}

const balance = (view: LedgerView, account: string, currency: 'USDT' | 'BTC' | 'ETH') =>
  new Money(view.balances[account]?.[currency] ?? '0');

const swapReq = (id: string, over: Partial<Parameters<Downstream['counterSwap']>[0]> = {}) => ({
  key: `${id}:1`,
  orderId: id,
  userId: `u-${id}`,
  flow: 'open' as const,
  asset: 'BTC' as const,
  qty: '0.5',
  usdt: '900',
  ...over,
});

async function raw(method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}${path}`, { method, body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: await res.json() };
}

before(async () => {
  await migrateDatabase(MYSQL_URL, COUNTER_DB, 'counter');
  counterPool = createPool(MYSQL_URL, COUNTER_DB, { connections: 2 });
  sim = await startSim({
    host: '127.0.0.1',
    port: 0,
    feeRate: FEE_RATE,
    faults: {},
    mysqlUrl: MYSQL_URL,
    counterDb: COUNTER_DB,
    logger: createLogger('warn', 'sim-test'),
  });
  url = `http://127.0.0.1:${sim.port}`;
  client = createDownstream({
    counterUrl: url,
    fundingUrl: url,
    tradeUrl: url,
    timeoutMs: 3000,
    connections: 8,
  });
  admin = createSimAdmin(url);
});

after(async () => {
  await Promise.allSettled([client?.close(), admin?.close()]);
  await sim?.close();
  await counterPool?.end();
  const u = new URL(MYSQL_URL);
  const conn = await mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: u.username || 'root',
  });
  await conn.query(`DROP DATABASE IF EXISTS \`${COUNTER_DB}\``);
  await conn.end();
});

describe('sim over HTTP', () => {
  it('is healthy, answers 404 elsewhere, and quotes prices', async () => {
    assert.deepEqual(await raw('GET', '/healthz'), { status: 200, json: { ok: true } });
    assert.deepEqual((await raw('GET', '/nope')).json, { code: 'NOT_FOUND', message: 'no such endpoint' });
    const btc = new Money(await admin.price('BTC'));
    const eth = new Money(await admin.price('ETH'));
    assert.ok(btc.gt(50_000) && btc.lt(70_000), `BTC ${btc}`);
    assert.ok(eth.gt(2_500) && eth.lt(3_500), `ETH ${eth}`);
    const bad = await raw('GET', '/price?asset=DOGE');
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { code: string }).code, 'INVALID_REQUEST');
  });

  describe('effects', () => {
    it('counter swap open then close moves the user, the swap house and the option house', async () => {
      const id = orderId();
      const before = await admin.getLedger();
      assert.deepEqual(await client.counterSwap(swapReq(id)), { key: `${id}:1` });
      const mid = await admin.getLedger(id);
      assert.equal(mid.balances[`user:u-${id}`]?.USDT, '999100');
      assert.equal(
        balance(mid, 'house:swap', 'USDT')
          .minus(balance(before, 'house:swap', 'USDT'))
          .toFixed(),
        '900',
      );
      assert.equal(
        balance(mid, 'house:swap', 'BTC')
          .minus(balance(before, 'house:swap', 'BTC'))
          .toFixed(),
        '-0.5',
      );
      assert.equal(
        balance(mid, 'house:options', 'BTC')
          .minus(balance(before, 'house:options', 'BTC'))
          .toFixed(),
        '0.5',
      );

      await client.counterSwap(swapReq(id, { key: `${id}:4`, flow: 'close', usdt: '950.25' }));
      const end = await admin.getLedger(id);
      assert.equal(end.balances[`user:u-${id}`]?.USDT, '1000050.25');
      assert.equal(
        balance(end, 'house:options', 'BTC').toFixed(),
        balance(before, 'house:options', 'BTC').toFixed(),
      );
      assert.deepEqual(end.effects, { [`${id}:1`]: 1, [`${id}:4`]: 1 });
    });

    it('funding transfer moves between the house accounts; an overdraft is refused and not remembered', async () => {
      const id = orderId();
      const req = {
        key: `${id}:2`,
        from: 'house:funding' as const,
        to: 'house:swap' as const,
        currency: 'ETH' as const,
        amount: '3',
      };
      await rejects(client.fundingTransfer(req), 'INSUFFICIENT_BALANCE', 422);
      assert.deepEqual((await admin.getLedger(id)).effects, {});

      const before = await admin.getLedger();
      await client.fundingTransfer({ ...req, key: `${id}:1`, from: 'house:swap', to: 'house:funding' });
      assert.deepEqual(await client.fundingTransfer(req), { key: `${id}:2`, amount: '3' });
      const after = await admin.getLedger(id);
      assert.equal(
        balance(after, 'house:swap', 'ETH').toFixed(),
        balance(before, 'house:swap', 'ETH').toFixed(),
      );
      assert.deepEqual(after.effects, { [`${id}:1`]: 1, [`${id}:2`]: 1 });
    });

    it('trade market buys and sells against the market at the quoted price, less the fee', async () => {
      const id = orderId();
      const fee = new Money(FEE_RATE);
      const before = await admin.getLedger();
      const buy = await client.tradeMarket({
        key: `${id}:3`,
        account: 'house:swap',
        side: 'buy',
        asset: 'ETH',
        quoteAmount: '1234.56',
      });
      const price = new Money(buy.price);
      const gross = new Money('1234.56').div(price).toDecimalPlaces(8, Money.ROUND_DOWN);
      const buyFee = gross.times(fee).toDecimalPlaces(8, Money.ROUND_DOWN);
      assert.deepEqual(buy, {
        key: `${id}:3`,
        price: buy.price,
        baseQty: gross.minus(buyFee).toFixed(),
        quoteQty: '1234.56',
        fee: buyFee.toFixed(),
        feeCurrency: 'ETH',
      });

      const sell = await client.tradeMarket({
        key: `${id}:5`,
        account: 'house:swap',
        side: 'sell',
        asset: 'ETH',
        baseAmount: buy.baseQty,
      });
      const grossQuote = new Money(buy.baseQty).times(sell.price).toDecimalPlaces(8, Money.ROUND_DOWN);
      const sellFee = grossQuote.times(fee).toDecimalPlaces(8, Money.ROUND_DOWN);
      assert.equal(sell.baseQty, buy.baseQty);
      assert.equal(sell.fee, sellFee.toFixed());
      assert.equal(sell.quoteQty, grossQuote.minus(sellFee).toFixed());
      assert.equal(sell.feeCurrency, 'USDT');

      const after = await admin.getLedger(id);
      const delta = (acc: string, cur: 'USDT' | 'ETH') =>
        balance(after, acc, cur)
          .minus(balance(before, acc, cur))
          .toFixed();
      assert.equal(delta('house:swap', 'ETH'), '0');
      assert.equal(delta('house:swap', 'USDT'), new Money(sell.quoteQty).minus('1234.56').toFixed());
      assert.equal(delta('fees', 'ETH'), buy.fee);
      assert.equal(delta('fees', 'USDT'), sell.fee);
      assert.equal(after.conserved, true);
    });
  });

  describe('idempotency', () => {
    it('a repeated key applies once and answers the same status and body', async () => {
      const id = orderId();
      const body = JSON.stringify({
        key: `${id}:3`,
        account: 'house:swap',
        side: 'buy',
        asset: 'BTC',
        quoteAmount: '100',
      });
      const first = await raw('POST', '/trade/market', body);
      assert.equal(first.status, 200);
      // wait for the price to move, so that a recomputed answer would differ
      await new Promise((r) => setTimeout(r, 250));
      const again = await raw('POST', '/trade/market', body);
      assert.deepEqual(again, first);
      const viaClient = await client.tradeMarket(JSON.parse(body));
      assert.deepEqual(viaClient, first.json);
      assert.deepEqual((await admin.getLedger(id)).effects, { [`${id}:3`]: 1 });
    });

    it('the same key with another body is a 409 conflict and changes nothing', async () => {
      const id = orderId();
      await client.counterSwap(swapReq(id));
      await rejects(client.counterSwap(swapReq(id, { qty: '0.6' })), 'IDEMPOTENCY_CONFLICT', 409);
      // same amounts written differently are the same request
      assert.deepEqual(await client.counterSwap(swapReq(id, { qty: '0.50', usdt: '900.000' })), {
        key: `${id}:1`,
      });
      const view = await admin.getLedger(id);
      assert.deepEqual(view.effects, { [`${id}:1`]: 1 });
      assert.equal(view.balances[`user:u-${id}`]?.USDT, '999100');
    });

    it('concurrent duplicates arriving during the latency apply once', async () => {
      const id = orderId();
      await admin.setFaults({ 'counter/swap': { latencyMs: 150 } });
      try {
        const answers = await Promise.all(Array.from({ length: 20 }, () => client.counterSwap(swapReq(id))));
        assert.ok(answers.every((a) => a.key === `${id}:1`));
      } finally {
        await admin.setFaults({});
      }
      const view = await admin.getLedger(id);
      assert.deepEqual(view.effects, { [`${id}:1`]: 1 });
      assert.equal(view.doubleEffects, 0);
    });
  });

  describe('faults', () => {
    it('an injected 5xx applies nothing, and a later retry with the same key succeeds', async () => {
      const id = orderId();
      const req = swapReq(id);
      await admin.setFaults({ 'counter/swap': { errorRate: 1 } });
      const seen = new Set<string>();
      try {
        for (let i = 0; i < 12; i++) {
          const err = await client.counterSwap(req).then(
            () => assert.fail('expected an injected error'),
            (e: unknown) => e,
          );
          assert.ok(err instanceof DownstreamError);
          seen.add(`${err.code} ${err.status}`);
        }
        assert.deepEqual((await admin.getLedger(id)).effects, {});
      } finally {
        await admin.setFaults({});
      }
      // 12 draws of a fair coin: both kinds, and nothing else (chance of one kind only: 1 in 2048)
      assert.deepEqual([...seen].sort(), ['INTERNAL 500', 'UNAVAILABLE 503']);
      assert.deepEqual(await client.counterSwap(req), { key: `${id}:1` });
      assert.deepEqual((await admin.getLedger(id)).effects, { [`${id}:1`]: 1 });
    });

    it('an injected 429 is RATE_LIMITED and applies nothing', async () => {
      const id = orderId();
      await admin.setFaults({ '*': { rateLimitRate: 1 } });
      try {
        await rejects(client.counterSwap(swapReq(id)), 'RATE_LIMITED', 429);
      } finally {
        await admin.setFaults({});
      }
      assert.deepEqual((await admin.getLedger(id)).effects, {});
    });

    it('a timeout applies once; the retry with the same key gets the stored answer', async () => {
      const id = orderId();
      const impatient = createDownstream({
        counterUrl: url,
        fundingUrl: url,
        tradeUrl: url,
        timeoutMs: 300,
        connections: 2,
      });
      const req = {
        key: `${id}:1`,
        from: 'house:swap' as const,
        to: 'house:funding' as const,
        currency: 'USDT' as const,
        amount: '7.5',
      };
      await admin.setFaults({ 'funding/transfer': { timeoutRate: 1, timeoutHoldMs: 5000 } });
      try {
        const started = Date.now();
        const err = await rejects(impatient.fundingTransfer(req), 'TIMEOUT', undefined);
        assert.ok(Date.now() - started < 2000, 'the client gave up at its own timeout');
        assert.match(err.message, /no response within 300 ms/);
        assert.deepEqual((await admin.getLedger(id)).effects, { [`${id}:1`]: 1 });
        // still timing out: the retry is absorbed too
        await rejects(impatient.fundingTransfer(req), 'TIMEOUT', undefined);
      } finally {
        await admin.setFaults({});
        await impatient.close();
      }
      assert.deepEqual(await client.fundingTransfer(req), { key: `${id}:1`, amount: '7.5' });
      const view = await admin.getLedger(id);
      assert.deepEqual(view.effects, { [`${id}:1`]: 1 });
      assert.equal(view.doubleEffects, 0);
    });

    it('a reject gives the named code (INSUFFICIENT_BALANCE by default), applies nothing, and spares applied keys', async () => {
      const id = orderId();
      const done = swapReq(id);
      await client.counterSwap(done);
      await admin.setFaults({ 'counter/swap': { rejectRate: 1 } });
      try {
        await rejects(
          client.counterSwap(swapReq(id, { key: `${id}:4`, flow: 'close' })),
          'INSUFFICIENT_BALANCE',
          422,
        );
        await admin.setFaults({ 'counter/swap': { rejectRate: 1, rejectCode: 'ACCOUNT_FROZEN' } });
        const err = await rejects(
          client.counterSwap(swapReq(id, { key: `${id}:4`, flow: 'close' })),
          'ACCOUNT_FROZEN',
          422,
        );
        assert.match(err.message, /injected rejection/);
        // the service answers a key it already applied with its stored result
        assert.deepEqual(await client.counterSwap(done), { key: `${id}:1` });
        // other endpoints are not affected
        await client.fundingTransfer({
          key: `${id}:2`,
          from: 'house:swap',
          to: 'house:funding',
          currency: 'BTC',
          amount: '0.1',
        });
      } finally {
        await admin.setFaults({});
      }
      assert.deepEqual((await admin.getLedger(id)).effects, { [`${id}:1`]: 1, [`${id}:2`]: 1 });
    });

    it('latency delays the answer by latencyMs plus up to jitterMs', async () => {
      await admin.setFaults({ '*': { latencyMs: 120, jitterMs: 40 } });
      try {
        const started = Date.now();
        await client.counterSwap(swapReq(orderId()));
        const took = Date.now() - started;
        assert.ok(took >= 115 && took < 1000, `took ${took} ms`);
      } finally {
        await admin.setFaults({});
      }
    });
  });

  describe('admin', () => {
    it('replaces the fault settings at run time and validates them', async () => {
      const settings = {
        '*': { latencyMs: 1 },
        'trade/market': { errorRate: 0.25, rejectCode: 'MARKET_CLOSED' },
      };
      try {
        assert.deepEqual(await admin.setFaults(settings), settings);
        assert.deepEqual(await admin.getFaults(), settings);
        const err = await rejects(
          admin.setFaults({ 'trade/market': { errorRate: 2 } }),
          'INVALID_REQUEST',
          400,
        );
        assert.match(err.message, /faults\.trade\/market\.errorRate/);
        assert.deepEqual(
          await admin.getFaults(),
          settings,
          'a refused change leaves the settings as they were',
        );
      } finally {
        assert.deepEqual(await admin.setFaults({}), {});
      }
    });
  });

  describe('bad requests', () => {
    it('413 for a body over 64 KiB, and the connection stays usable', async () => {
      const huge = JSON.stringify({ ...swapReq(orderId()), pad: 'x'.repeat(70 * 1024) });
      assert.deepEqual(await raw('POST', '/counter/swap', huge), {
        status: 413,
        json: { code: 'PAYLOAD_TOO_LARGE', message: 'body exceeds 65536 bytes' },
      });
      assert.equal((await raw('GET', '/healthz')).status, 200);
    });

    it('400 INVALID_REQUEST for bad JSON or a missing or invalid field, naming the field', async () => {
      assert.deepEqual(await raw('POST', '/counter/swap', '{"key":'), {
        status: 400,
        json: { code: 'INVALID_REQUEST', message: 'body is not valid JSON' },
      });
      const { usdt: _, ...noUsdt } = swapReq(orderId());
      const missing = await raw('POST', '/counter/swap', JSON.stringify(noUsdt));
      assert.equal(missing.status, 400);
      assert.match((missing.json as { message: string }).message, /^usdt: /);
      const err = await rejects(
        client.counterSwap(swapReq(orderId(), { qty: 'lots' })),
        'INVALID_REQUEST',
        400,
      );
      assert.match(err.message, /qty: expected a decimal string/);
      await rejects(
        client.tradeMarket({
          key: `${orderId()}:3`,
          account: 'house:swap',
          side: 'buy',
          asset: 'BTC',
          baseAmount: '1',
        }),
        'INVALID_REQUEST',
        400,
      );
    });
  });

  describe('counter orders', () => {
    it('lists one shard in [fromMs, toMs), oldest first, with every column and decimals as strings', async () => {
      const db = createDb(counterPool);
      const t = 1_700_000_000_000;
      const row = (n: number, shard: number, createdMs: number) => ({
        orderId: `${run}-row-${n}`,
        shard,
        userId: `u${n}`,
        bizType: 'OPTION_SWAP',
        flow: 'OPEN',
        asset: 'BTC',
        qty: '0.5',
        usdt: '900.12345678',
        createdMs,
      });
      await db
        .insert(syncOrder)
        .values([
          row(1, 7, t + 30),
          row(2, 7, t + 10),
          row(3, 8, t + 10),
          row(4, 7, t + 10),
          row(5, 7, t + 100),
          row(6, 7, t),
        ]);

      const list = async (query: string) => {
        const res = await raw('GET', `/counter/orders?${query}`);
        assert.equal(res.status, 200);
        return (res.json as { orders: Record<string, unknown>[] }).orders;
      };
      const orders = await list(`shard=7&fromMs=${t + 1}&toMs=${t + 100}`);
      assert.deepEqual(
        orders.map((o) => o.orderId),
        [`${run}-row-2`, `${run}-row-4`, `${run}-row-1`],
      );
      const first = orders[0] as Record<string, unknown>;
      assert.equal(typeof first.id, 'number');
      assert.deepEqual(
        { ...first, id: 0 },
        {
          id: 0,
          orderId: `${run}-row-2`,
          shard: 7,
          userId: 'u2',
          bizType: 'OPTION_SWAP',
          flow: 'OPEN',
          asset: 'BTC',
          qty: '0.500000000000000000',
          usdt: '900.123456780000000000',
          createdMs: t + 10,
        },
      );
      assert.deepEqual(
        (await list(`shard=7&fromMs=${t}&toMs=${t + 101}&limit=2`)).map((o) => o.orderId),
        [`${run}-row-6`, `${run}-row-2`],
      );
      assert.deepEqual(await list(`shard=9&fromMs=${t}&toMs=${t + 1000}`), []);

      const bad = await raw('GET', `/counter/orders?shard=7&fromMs=${t}`);
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.json, {
        code: 'INVALID_REQUEST',
        message: `toMs: expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}`,
      });
    });
  });

  it('conserves money after a mixed sequence, with no effect applied twice', async () => {
    const ids = Array.from({ length: 10 }, orderId);
    await admin.setFaults({ '*': { errorRate: 0.3, timeoutRate: 0.2, timeoutHoldMs: 400, jitterMs: 5 } });
    const impatient = createDownstream({
      counterUrl: url,
      fundingUrl: url,
      tradeUrl: url,
      timeoutMs: 150,
      connections: 4,
    });
    /** retries like the engine: same key until it lands */
    const retry = async <T>(call: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await call();
        } catch (e) {
          if (!(e instanceof DownstreamError) || !['INTERNAL', 'UNAVAILABLE', 'TIMEOUT'].includes(e.code))
            throw e;
        }
      }
    };
    try {
      await Promise.all(
        ids.map(async (id, i) => {
          const asset = i % 2 === 0 ? 'BTC' : 'ETH';
          await retry(() => impatient.counterSwap(swapReq(id, { asset, qty: '0.25', usdt: '500' })));
          await retry(() =>
            impatient.fundingTransfer({
              key: `${id}:2`,
              from: 'house:swap',
              to: 'house:funding',
              currency: 'USDT',
              amount: '500',
            }),
          );
          const buy = await retry(() =>
            impatient.tradeMarket({
              key: `${id}:3`,
              account: 'house:funding',
              side: 'buy',
              asset,
              quoteAmount: '500',
            }),
          );
          await retry(() =>
            impatient.fundingTransfer({
              key: `${id}:4`,
              from: 'house:funding',
              to: 'house:swap',
              currency: asset,
              amount: buy.baseQty,
            }),
          );
        }),
      );
    } finally {
      await admin.setFaults({});
      await impatient.close();
    }
    const view = await admin.getLedger(run);
    assert.equal(view.conserved, true, view.problems.join('; '));
    assert.deepEqual(view.problems, []);
    assert.equal(view.doubleEffects, 0);
    for (const id of ids)
      for (const step of [1, 2, 3, 4]) assert.equal(view.effects[`${id}:${step}`], 1, `${id}:${step}`);
    assert.deepEqual(view.totals, view.initialTotals);
  });
});
