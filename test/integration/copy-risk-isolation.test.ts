import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import {
  createExchangeClient,
  type DownstreamError,
  type ExchangeClient,
  type FilledOrder,
} from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { copierChanged } from '../../src/copytrade/copy-changes.js';
import { type CopierLiquidation, liquidationAcceptKey } from '../../src/copytrade/domain/liquidation.js';
import { signalStreamKey } from '../../src/copytrade/ingress/codec.js';
import { LeaderTable } from '../../src/copytrade/ingress/fill-filter.js';
import { encodeLiquidationEntry } from '../../src/copytrade/ingress/risk-events.js';
import { riskHandler } from '../../src/copytrade/ingress/risk-intake.js';
import { ProfitShare } from '../../src/copytrade/profit-share/profit-share.js';
import { money } from '../../src/domain/money.js';
import { createLogger } from '../../src/infra/log.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { type Child, freePort, TestWorld, waitFor } from '../support/harness.js';

/**
 * Risk isolation (issue 14 item 4), on the real engine, MySQL, Redis and exchange simulator,
 * the liquidations made by the simulator itself (POST /admin/liquidate):
 * - a lead's liquidation applies its program's policy to its copiers' slices (close at
 *   market, or detach and keep) and never touches the copier's slice of another lead;
 * - a copier's own liquidation closes its slices of both leads in the book at the
 *   liquidation price, realises their PnL into each pair's profit share, pauses its follows,
 *   tells it, places nothing, and does all of it once (delivered twice, after a restart);
 * - a lead's margin added tells its copiers the lead's new liquidation price next to theirs.
 */
describe('copy trading: risk isolation', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let admin: SimAdmin;
  let redis: RedisClient;
  let port: number;
  let engine: Child;
  let keepLead: { traderId: string; apiKey: string; secret: string };
  let socket: TraderSocket;
  /** the feed price held through the tests (moved where a test says) */
  let price: string;

  const rows = async (sql: string, args: unknown[] = []) =>
    (await world.engineDb.query<RowDataPacket[]>(sql, args))[0];
  const done = (signalKey: string) =>
    waitFor(`${signalKey} done`, () => fannedOut(world.engineDb, signalKey), 30_000, 20);
  const streamEmpty = () =>
    waitFor(
      'the stream emptied',
      async () => (await redis.xlen(signalStreamKey(world.config.redisPrefix))) === 0,
      20_000,
      20,
    );
  const slice = async (copierId: string, traderId: string) => {
    const [s] = await rows(
      'SELECT qty, avg_entry_price, realised_pnl, share_accrued FROM copy_slice WHERE copier_id=? AND trader_id=?',
      [copierId, traderId],
    );
    return s
      ? {
          qty: money(s.qty).toFixed(),
          entry: money(s.avg_entry_price).toFixed(),
          pnl: money(s.realised_pnl).toFixed(),
          share: money(s.share_accrued).toFixed(),
        }
      : undefined;
  };
  const position = async (account: string) =>
    (await exchange.positions(account)).positions.find((p) => p.instrument === INSTRUMENT);
  const hold = async (p: string) => {
    price = p;
    await admin.setPrice('BTC', p, { hold: true });
    await new Promise((r) => setTimeout(r, 400));
  };
  let own = 0;
  /** the lead trades on its own exchange account; a fills lead's fill is its signal */
  const trade = (traderId: string, side: 'buy' | 'sell', qty: string) =>
    exchange.placeOrder({
      account: traderId,
      clientOrderId: `own-${++own}`,
      instrument: INSTRUMENT,
      side,
      qty,
    });
  const fillKey = (o: FilledOrder, traderId: string) => `fill-${o.orderId}-1@${traderId}`;
  const follows = async (copierId: string) =>
    (
      await rows('SELECT trader_id, status FROM copy_follow WHERE copier_id=? ORDER BY trader_id', [copierId])
    ).map((r) => [r.trader_id, r.status]);
  /** the copier's risk notices (profit share's are not these tests' business) */
  const notices = async (copierId: string) =>
    (
      await rows(
        "SELECT kind, dedup_key, payload FROM copy_notice WHERE user_id=? AND kind IN ('liquidation', 'pause', 'margin') ORDER BY notice_id",
        [copierId],
      )
    ).map((r) => ({ kind: String(r.kind), key: String(r.dedup_key), payload: JSON.parse(r.payload) }));

  const startEngine = async () => {
    engine = world.spawn(['copy']);
    socket = await waitFor(
      'the ingress',
      () => TraderSocket.open(port, keepLead.apiKey, keepLead.secret),
      30_000,
      100,
    );
    // the fill consumer is connected once a probe lead's fill comes through
    await waitFor(
      'the fill events subscribed',
      async () => {
        const o = await trade('probe', 'buy', '0.01');
        return waitFor('the probe', () => fannedOut(world.engineDb, fillKey(o, 'probe')), 1500, 20).then(
          () => true,
          () => false,
        );
      },
      30_000,
      0,
    );
  };

  before(async () => {
    port = await freePort();
    await world.setUp({
      TF_COPY_INGRESS_PORT: String(port),
      TF_COPY_LEADERS_REFRESH_MS: '200',
      // the test settles the pair itself; no sweep's withholding notice in between
      TF_PROFIT_SHARE_SWEEP_MS: '3600000',
    });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    world.env.TF_COPY_FILL_EVENTS_URL = `${world.config.counterUrl.replace('http', 'ws')}/exchange/events`;
    admin = await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    redis = createRedis(world.config.redisUrl);
    const rowsOf = world.copyRows();
    // closeLead: policy close; keepLead: policy keep, its signals its frames; other, dLead: a second lead each
    await seedTrader(rowsOf, exchange, 'closeLead', { signalSource: 'fills', onLiquidation: 'close' });
    keepLead = await seedTrader(rowsOf, exchange, 'keepLead', {
      signalSource: 'frames',
      onLiquidation: 'keep',
    });
    await seedTrader(rowsOf, exchange, 'other', { signalSource: 'fills' });
    await seedTrader(rowsOf, exchange, 'dLead', { signalSource: 'fills' });
    await seedTrader(rowsOf, exchange, 'marginLead', { signalSource: 'fills' });
    await seedTrader(rowsOf, exchange, 'probe', { signalSource: 'fills' });
    await exchange.setLeverage({
      account: 'marginLead',
      instrument: INSTRUMENT,
      leverage: 10,
      marginMode: 'isolated',
    });
    const ratio = (copierId: string, traderId: string) => ({
      follow: follow(copierId, traderId, { sizing: { mode: 'fixed-ratio', ratio: '2' } }),
      usdt: '100000',
    });
    await seedCopiers(rowsOf, exchange, [
      ratio('c1', 'closeLead'),
      ratio('k1', 'keepLead'),
      ratio('x1', 'dLead'),
      ratio('m1', 'marginLead'),
      ratio('y1', 'other'),
    ]);
    // and each of c1, k1 and x1 follows `other` too
    for (const copierId of ['c1', 'k1', 'x1']) {
      const f = ratio(copierId, 'other').follow;
      await world.engineDb.query(
        'INSERT INTO copy_follow (copier_id, trader_id, settings, status, updated_ms) VALUES (?, ?, ?, ?, ?)',
        [copierId, 'other', JSON.stringify(f), 'active', Date.now()],
      );
      await rowsOf.publish(copierChanged(copierId));
    }
    await hold((await exchange.price(INSTRUMENT)).price);
    await startEngine();
    // every copier holds 2 of each lead it follows: the leads open 1 each
    const opens = [trade('closeLead', 'buy', '1'), trade('other', 'buy', '1'), trade('dLead', 'buy', '1')];
    for (const [o, lead] of (await Promise.all(opens)).map(
      (o, i) => [o, ['closeLead', 'other', 'dLead'][i]] as const,
    ))
      await done(fillKey(o, lead as string));
    // keepLead trades and tells its copiers by a frame (its fills are not its signals)
    await trade('keepLead', 'buy', '1');
    const ack = await socket.send(signalOf('keepLead', { signalId: 'k-open', price }));
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await done('k-open@keepLead');
  });
  after(async () => {
    socket?.close();
    redis?.disconnect();
    await exchange?.close();
    await world.tearDown();
  });

  it("a lead's liquidation under policy close: its copiers' slices closed at market, the copier's slice of another lead untouched", async () => {
    assert.deepEqual((await slice('c1', 'closeLead'))?.qty, '2');
    assert.equal((await position('c1'))?.qty, '4');
    const liq = await admin.liquidate({ account: 'closeLead', instrument: INSTRUMENT });
    await done(fillKey(liq, 'closeLead'));
    await streamEmpty();
    const [close] = await rows(
      "SELECT qty, status, action FROM copy_order WHERE copier_id='c1' AND signal_key=?",
      [fillKey(liq, 'closeLead')],
    );
    assert.deepEqual([close?.action, close?.status, money(close?.qty).toFixed()], ['close', 'FILLED', '2']);
    assert.equal((await slice('c1', 'closeLead'))?.qty, '0');
    assert.equal((await slice('c1', 'other'))?.qty, '2');
    assert.equal((await position('c1'))?.qty, '2');
    // a lead's liquidation is not the copier's: c1's follows stay as they were
    assert.deepEqual(await follows('c1'), [
      ['closeLead', 'active'],
      ['other', 'active'],
    ]);
    assert.equal((await exchange.ledger()).conserved, true);
  });

  it("a lead's liquidation under policy keep (a frames lead, liquidated by the exchange): slices detached and kept, nothing placed, the other lead's untouched", async () => {
    const before = await exchange.ledger();
    const liq = await admin.liquidate({ account: 'keepLead', instrument: INSTRUMENT });
    await done(fillKey(liq, 'keepLead'));
    await streamEmpty();
    const [skip] = await rows("SELECT reason FROM copy_skip WHERE copier_id='k1' AND signal_key=?", [
      fillKey(liq, 'keepLead'),
    ]);
    assert.equal(skip?.reason, 'kept-after-liquidation');
    assert.equal((await slice('k1', 'keepLead'))?.qty, '0');
    assert.equal((await slice('k1', 'kept/keepLead'))?.qty, '2');
    assert.equal((await slice('k1', 'other'))?.qty, '2');
    assert.equal((await position('k1'))?.qty, '4');
    // only the liquidation itself reached the exchange
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, before.ordersApplied);
    assert.equal(ledger.liquidations, before.liquidations + 1);
  });

  it('a copier liquidated while following two leads: both slices closed in the book at the liquidation price, PnL into each pair, follows paused, told once, nothing placed', async () => {
    // first a gain on `other`: it closes half, x1 closes 1 of its 2 at +2%
    await hold(money(price).times('1.02').toDecimalPlaces(2).toFixed());
    const half = await trade('other', 'sell', '0.5');
    await done(fillKey(half, 'other'));
    const gained = await slice('x1', 'other');
    assert.equal(gained?.qty, '1');
    assert.ok(money(gained?.share ?? '0').gt(0), 'a profit accrues the lead its share');
    const dBefore = await slice('x1', 'dLead');
    assert.equal(dBefore?.qty, '2');

    // the market falls 5%: the exchange liquidates x1 (one-way: one long of 3)
    await hold(money(price).times('0.95').toDecimalPlaces(2).toFixed());
    assert.equal((await position('x1'))?.qty, '3');
    const before = await exchange.ledger();
    const liq = await admin.liquidate({ account: 'x1', instrument: INSTRUMENT });
    const liqFill = { fillId: `${liq.orderId}-1`, price: liq.price };
    await done(`liq/${liqFill.fillId}@x1`);
    await streamEmpty();

    // both leads' slices closed at the liquidation price, each at its own entry, no fee
    const closes = await rows(
      "SELECT trader_id, qty, status, fill_price, fee FROM copy_order WHERE copier_id='x1' AND signal_key LIKE 'liq/%' ORDER BY trader_id",
    );
    assert.deepEqual(
      closes.map((c) => [
        c.trader_id,
        money(c.qty).toFixed(),
        c.status,
        money(c.fill_price).toFixed(),
        money(c.fee).toFixed(),
      ]),
      [
        ['dLead', '2', 'LIQUIDATED', liq.price, '0'],
        ['other', '1', 'LIQUIDATED', liq.price, '0'],
      ],
    );
    const pnlOf = (entry: string, qty: string) => money(liq.price).minus(entry).times(qty).times('0.01');
    const other = await slice('x1', 'other');
    const d = await slice('x1', 'dLead');
    assert.deepEqual([other?.qty, d?.qty], ['0', '0']);
    // realised: the close at the liquidation price less the open fees still held (the slice's `fees` − those realised)
    const [held] = await rows(
      "SELECT SUM(held_fees) AS h FROM copy_slice WHERE copier_id='x1' AND trader_id IN ('other','dLead')",
    );
    assert.equal(money(held?.h).toFixed(), '0');
    assert.ok(money(d?.pnl ?? '0').lt(pnlOf(dBefore?.entry ?? '0', '2').plus('0.000001')), 'a loss on dLead');
    assert.ok(money(d?.pnl ?? '0').gt(pnlOf(dBefore?.entry ?? '0', '2').minus('1')), 'about the price move');
    assert.ok(money(other?.pnl ?? '0').lt(gained?.pnl ?? '0'), 'the loss is in the pair of `other` too');
    // a loss accrues no share: what the gain accrued stays
    assert.equal(other?.share, gained?.share);
    assert.deepEqual(await follows('x1'), [
      ['dLead', 'paused'],
      ['other', 'paused'],
    ]);
    const told = await notices('x1');
    assert.deepEqual(
      told.map((n) => [n.kind, n.payload.traderId ?? n.payload.price, n.payload.reason ?? null]),
      [
        ['liquidation', liq.price, null],
        ['pause', 'dLead', 'liquidation'],
        ['pause', 'other', 'liquidation'],
      ],
    );
    assert.deepEqual(
      told[0]?.payload.slices.map((s: { traderId: string; qty: string }) => [s.traderId, s.qty]),
      [
        ['dLead', '2'],
        ['other', '1'],
      ],
    );
    // nothing was placed for the liquidated position
    const after = await exchange.ledger();
    assert.equal(after.ordersApplied, before.ordersApplied);
    assert.equal(after.conserved, true);
    assert.equal(await position('x1'), undefined);

    // the lead closes later: x1 has nothing left to close, and nothing is placed for it
    const dClose = await trade('dLead', 'sell', '1');
    await done(fillKey(dClose, 'dLead'));
    const [noSlice] = await rows("SELECT reason FROM copy_skip WHERE copier_id='x1' AND signal_key=?", [
      fillKey(dClose, 'dLead'),
    ]);
    assert.equal(noSlice?.reason, 'no-slice');
    assert.equal((await exchange.ledger()).ordersApplied, after.ordersApplied + 1);

    // the pair's profit share: the loss carries against the gain; nothing is paid, the withheld share goes back
    const ps = new ProfitShare({
      pool: world.engineDb,
      exchange,
      cycle: 'daily',
      log: createLogger('silent'),
    });
    const out = await ps.stop({ copierId: 'x1', traderId: 'other' }, Date.now());
    assert.equal(out.kind, 'settled');
    if (out.kind === 'settled') {
      assert.ok(money(out.statement.cumulativePnl).lt(0), out.statement.cumulativePnl);
      assert.deepEqual([out.statement.payout, out.statement.highWaterMark], ['0', '0']);
      assert.equal(out.statement.refund, gained?.share);
    }
  });

  it("a copier's liquidation delivered again, and again after a restart, changes nothing", async () => {
    const [row] = await rows("SELECT signal_key, payload FROM copy_signal WHERE signal_key LIKE 'liq/%@x1'");
    const l = JSON.parse(row?.payload);
    const snapshot = async () => ({
      orders: await rows("SELECT signal_key, qty FROM copy_order WHERE copier_id='x1' ORDER BY signal_key"),
      slices: await rows(
        "SELECT trader_id, qty, realised_pnl, share_accrued FROM copy_slice WHERE copier_id='x1' ORDER BY trader_id",
      ),
      notices: (await notices('x1')).length,
      follows: await follows('x1'),
      applied: (await exchange.ledger()).ordersApplied,
    });
    // the copier resumes one follow: a second delivery must not pause it again
    await world.engineDb.query(
      "UPDATE copy_follow SET status='active' WHERE copier_id='x1' AND trader_id='other'",
    );
    const seen = await snapshot();
    const stream = signalStreamKey(world.config.redisPrefix);
    await redis.xadd(stream, '*', ...encodeLiquidationEntry({ liquidation: l, receivedMs: Date.now() }));
    await streamEmpty();
    assert.deepEqual(await snapshot(), seen);

    engine.kill('SIGKILL');
    await engine.exited;
    socket.close();
    await redis.xadd(stream, '*', ...encodeLiquidationEntry({ liquidation: l, receivedMs: Date.now() }));
    await startEngine();
    await streamEmpty();
    const afterRestart = await snapshot();
    // the probe's order is the only one placed since
    assert.deepEqual({ ...afterRestart, applied: 0 }, { ...seen, applied: 0 });
    assert.equal((await exchange.ledger()).duplicatedClientOrderIds, 0);
  });

  it("a copier's liquidation accepted, then lost by Redis, is queued again at the next start and taken once", async () => {
    assert.equal((await slice('y1', 'other'))?.qty, '1');
    engine.kill('SIGKILL');
    await engine.exited;
    socket.close();
    const liq = await admin.liquidate({ account: 'y1', instrument: INSTRUMENT });
    // as the ingress takes the event (its row in MySQL, then the stream entry) ...
    const l: CopierLiquidation = {
      fillId: `${liq.orderId}-1`,
      account: 'y1',
      instrument: INSTRUMENT,
      side: 'long',
      qty: liq.qty,
      price: liq.price,
      leverage: liq.leverage,
      filledMs: liq.filledMs,
    };
    const accept = riskHandler({
      redis,
      pool: world.engineDb,
      prefix: world.config.redisPrefix,
      seenTtlMs: 60_000,
      margin: async () => undefined,
    });
    await accept({ kind: 'liquidation', liquidation: l }, Date.now(), LeaderTable.EMPTY);
    const stream = signalStreamKey(world.config.redisPrefix);
    assert.equal(await redis.xlen(stream), 1);
    // ... and Redis loses it before the fan-out did
    await redis.del(stream);
    await startEngine();
    await done(`liq/${l.fillId}@y1`);
    await done(liquidationAcceptKey(l));
    assert.equal((await slice('y1', 'other'))?.qty, '0');
    assert.deepEqual(await follows('y1'), [['other', 'paused']]);
    const [order] = await rows(
      "SELECT status, fill_price FROM copy_order WHERE copier_id='y1' AND signal_key LIKE 'liq/%'",
    );
    assert.deepEqual([order?.status, money(order?.fill_price).toFixed()], ['LIQUIDATED', liq.price]);
    // accepted again (the event delivered twice): done, nothing queued
    await accept({ kind: 'liquidation', liquidation: l }, Date.now(), LeaderTable.EMPTY);
    await streamEmpty();
    assert.equal((await notices('y1')).length, 2);
  });

  it("a lead's margin added: each copier is told the lead's new liquidation price next to its own", async () => {
    const open = await trade('marginLead', 'buy', '1');
    await done(fillKey(open, 'marginLead'));
    const leadBefore = await position('marginLead');
    const event = await exchange.addMargin({ account: 'marginLead', instrument: INSTRUMENT, amount: '100' });
    assert.ok(money(event.liquidationPrice).lt(leadBefore?.liquidationPrice ?? '0'), 'the price moved away');
    const told = await waitFor(
      'the margin notice',
      async () => {
        const n = (await notices('m1')).filter((x) => x.kind === 'margin');
        return n.length > 0 ? n : undefined;
      },
      10_000,
      50,
    );
    const mine = await position('m1');
    assert.deepEqual(told[0]?.payload, {
      traderId: 'marginLead',
      instrument: INSTRUMENT,
      side: 'long',
      leadMargin: event.margin,
      leadLiquidationPrice: event.liquidationPrice,
      positionSide: 'long',
      liquidationPrice: mine?.liquidationPrice,
    });
    // what the exchange refuses, with its reason: margin into a cross position, a liquidation of nothing, a bad amount
    const refused = async (call: Promise<unknown>) =>
      call.then(
        () => 'accepted',
        (err: DownstreamError) => `${err.status} ${err.code}`,
      );
    assert.equal(
      await refused(exchange.addMargin({ account: 'm1', instrument: INSTRUMENT, amount: '1' })),
      '422 NOT_ISOLATED',
    );
    assert.equal(
      await refused(admin.liquidate({ account: 'x1', instrument: INSTRUMENT })),
      '422 NO_POSITION',
    );
    assert.equal(
      await refused(exchange.addMargin({ account: 'marginLead', instrument: INSTRUMENT, amount: '-5' })),
      '400 INVALID_REQUEST',
    );
    // copiers of other leads are not told
    for (const c of ['c1', 'k1', 'x1'])
      assert.equal((await notices(c)).filter((n) => n.kind === 'margin').length, 0);
  });
});
