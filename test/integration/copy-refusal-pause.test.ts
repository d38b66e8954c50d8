import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { money } from '../../src/domain/money.js';
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
 * A follow whose copies the exchange refuses 5 times in a row (TF_COPY_PAUSE_AFTER_REFUSALS's
 * default) for the same reason is paused with a notice naming the reason and the count,
 * never silently; a fill in between starts the count again; the count survives a restart.
 * The exchange refuses `flaky`'s copies for margin: its USDT is moved off its account behind
 * the engine's back (the book's balance, read at start, still has it), so each copy is sized
 * and sent. The real engine, MySQL, Redis and simulator.
 */
describe('copy trading: a follow refused 5 times in a row for one reason is paused', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let engine: Child;
  let port: number;
  let apiPort: number;
  let trader: { traderId: string; apiKey: string; secret: string };
  let socket: TraderSocket;
  let tokens: Map<string, string>;
  let price: string;
  let n = 0;
  let moves = 0;

  const signal = (over: Partial<TraderSignal>): TraderSignal => signalOf(trader.traderId, over);
  const rows = async (sql: string, args: unknown[] = []) =>
    (await world.engineDb.query<RowDataPacket[]>(sql, args))[0];
  /** one open of the trader, fanned out; what flaky's copy became */
  const open = async () => {
    const signalId = `o${++n}`;
    const ack = await socket.send(signal({ signalId, price }));
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await waitFor(`signal ${signalId}`, () => fannedOut(world.engineDb, `${signalId}@lead1`), 30_000, 20);
    const [o] = await rows(
      "SELECT status, error_code FROM copy_order WHERE signal_key=? AND copier_id='flaky'",
      [`${signalId}@lead1`],
    );
    const [k] = await rows("SELECT reason FROM copy_skip WHERE signal_key=? AND copier_id='flaky'", [
      `${signalId}@lead1`,
    ]);
    const [steady] = await rows("SELECT status FROM copy_order WHERE signal_key=? AND copier_id='steady'", [
      `${signalId}@lead1`,
    ]);
    assert.equal(steady?.status, 'FILLED', 'steady copies all along');
    return o ? `${o.status}${o.error_code ? ` ${o.error_code}` : ''}` : `skip ${k?.reason}`;
  };
  /** flaky's USDT off its account but 10 (a copy needs 100), or back */
  const drain = async () => {
    const available = money((await exchange.positions('flaky')).available);
    await exchange.transfer({
      key: `move-${++moves}`,
      from: 'flaky',
      to: 'exchange:escrow:aside',
      amount: available.minus(10).toFixed(8),
    });
  };
  const refund = async () => {
    const held = (await exchange.transfers('move-')).escrow['exchange:escrow:aside'];
    assert.ok(held, 'USDT set aside');
    await exchange.transfer({
      key: `move-${++moves}`,
      from: 'exchange:escrow:aside',
      to: 'flaky',
      amount: held,
    });
  };
  const api = async (path: string, method = 'GET') => {
    const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens.get('flaky')}` },
    });
    assert.equal(res.status, 200, `${method} ${path}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const status = async () => {
    const [f] = await rows("SELECT status FROM copy_follow WHERE copier_id='flaky'");
    return String(f?.status);
  };
  const startEngine = async () => {
    engine = world.spawn(['copy']);
    socket = await waitFor(
      'the signal ingress',
      () => TraderSocket.open(port, trader.apiKey, trader.secret),
      30_000,
      100,
    );
  };

  before(async () => {
    port = await freePort();
    apiPort = await freePort();
    await world.setUp({
      TF_COPY_INGRESS_PORT: String(port),
      TF_COPY_API_PORT: String(apiPort),
      // drift repair off: its takeover round places the refused opens again, which the exchange
      // refuses too and which count in the streak (copy-drift.test.ts tests repairs)
      TF_COPY_DRIFT_INTERVAL_MS: '0',
    });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    tokens = await seedCopiers(world.copyRows(), exchange, [
      { follow: follow('flaky', trader.traderId), usdt: '100000' },
      { follow: follow('steady', trader.traderId), usdt: '100000' },
    ]);
    price = (await exchange.price(INSTRUMENT)).price;
    await startEngine();
  });
  after(async () => {
    socket?.close();
    await exchange?.close();
    await world.tearDown();
  });

  it('refused 3 times, restarted, refused twice more: paused at 5, with the notice, in MySQL, the book and GET /follows', async () => {
    await drain();
    for (let i = 0; i < 3; i++) assert.equal(await open(), 'REJECTED INSUFFICIENT_MARGIN');
    assert.deepEqual(await rows('SELECT code, count FROM copy_follow_refusal'), [
      { code: 'INSUFFICIENT_MARGIN', count: 3 },
    ]);
    assert.equal(await status(), 'active');

    // a restart reads the balance back (then drained again, behind its back) and the count from MySQL
    await refund();
    engine.kill('SIGTERM');
    assert.equal(await engine.exited, 0);
    socket.close();
    await startEngine();
    await drain();
    assert.equal(await open(), 'REJECTED INSUFFICIENT_MARGIN');
    assert.equal(await status(), 'active', 'four in a row');
    assert.equal(await open(), 'REJECTED INSUFFICIENT_MARGIN');

    // the fifth: paused, in MySQL and on the copiers' API, the streak done with
    assert.equal(await status(), 'paused');
    const { follows } = (await api('/follows')) as { follows: { traderId: string; status: string }[] };
    assert.deepEqual(
      follows.map((f) => [f.traderId, f.status]),
      [['lead1', 'paused']],
    );
    assert.deepEqual(await rows('SELECT 1 FROM copy_follow_refusal'), []);
    // the notice names the reason and the count
    const { notices } = (await api('/notices')) as { notices: { kind: string; payload: unknown }[] };
    assert.deepEqual(
      notices.filter((x) => x.kind === 'pause').map((x) => x.payload),
      [{ traderId: 'lead1', reason: 'INSUFFICIENT_MARGIN', refusals: 5 }],
    );
    // and in the book: the next open is not sent for it
    const before = (await exchange.ledger()).rejected.INSUFFICIENT_MARGIN;
    assert.equal(await open(), 'skip follow-paused');
    assert.equal((await exchange.ledger()).rejected.INSUFFICIENT_MARGIN, before);
  });

  it('resumed: two refusals, a fill, four refusals: still active (the fill started the count again); one more pauses it', async () => {
    await api('/follows/lead1/resume', 'POST');
    assert.equal(await status(), 'active');
    for (let i = 0; i < 2; i++) assert.equal(await open(), 'REJECTED INSUFFICIENT_MARGIN');
    await refund();
    assert.equal(await open(), 'FILLED');
    assert.deepEqual(await rows('SELECT 1 FROM copy_follow_refusal'), []);
    await drain();
    for (let i = 0; i < 4; i++) assert.equal(await open(), 'REJECTED INSUFFICIENT_MARGIN');
    assert.equal(await status(), 'active');
    assert.equal(await open(), 'REJECTED INSUFFICIENT_MARGIN');
    assert.equal(await status(), 'paused');
    const { notices } = (await api('/notices')) as {
      notices: { kind: string; payload: { reason?: string } }[];
    };
    assert.equal(
      notices.filter((x) => x.kind === 'pause' && x.payload.reason === 'INSUFFICIENT_MARGIN').length,
      2,
    );

    // paused, a close still follows: the slice of the one fill is closed
    const ack = await socket.send(
      signal({ signalId: 'c1', action: 'close', qty: '1', positionBefore: '1', price }),
    );
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await waitFor('the close', () => fannedOut(world.engineDb, 'c1@lead1'), 30_000, 20);
    const [c] = await rows("SELECT status FROM copy_order WHERE signal_key='c1@lead1' AND copier_id='flaky'");
    assert.equal(c?.status, 'FILLED');
    assert.equal(
      (await exchange.positions('flaky')).positions.find((p) => p.instrument === INSTRUMENT)?.qty,
      undefined,
    );
  });
});
