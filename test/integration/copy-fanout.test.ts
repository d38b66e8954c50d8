import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { encodeSignalEntry, signalStreamKey } from '../../src/copytrade/ingress/codec.js';
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

describe('copy trading: one signal, every copier of the trader, once', () => {
  const ELIGIBLE = 450;
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let admin: SimAdmin;
  let redis: RedisClient;
  let engine: Child;
  let port: number;
  let trader: { traderId: string; apiKey: string; secret: string };
  let socket: TraderSocket;

  const signal = (over: Partial<TraderSignal>): TraderSignal => signalOf(trader.traderId, over);
  /** Puts a signal straight into the stream, past the ingress and its dedup (as an operator's replay would). */
  const replay = (s: TraderSignal) =>
    redis.xadd(
      signalStreamKey(world.config.redisPrefix),
      '*',
      ...encodeSignalEntry({ signal: s, receivedMs: Date.now(), source: 'ws' }),
    );
  const count = async (sql: string, args: unknown[] = []) => {
    const [rows] = await world.engineDb.query<RowDataPacket[]>(sql, args);
    return Number(rows[0]?.n);
  };
  const done = (signalKey: string) =>
    waitFor(`signal ${signalKey} done`, () => fannedOut(world.engineDb, signalKey), 30_000, 20);
  const startEngine = async () => {
    engine = world.spawn(['copy']);
    socket = await waitFor(
      'the signal ingress',
      () => TraderSocket.open(port, trader.apiKey, trader.secret),
      30_000,
      100,
    );
  };
  /** Every copier's exchange position equals the sum of its slices (one trader, long only). */
  const positionsMatchSlices = async () => {
    const [slices] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT copier_id, qty FROM copy_slice WHERE side='long' AND qty > 0",
    );
    for (const s of slices.slice(0, 60)) {
      const view = await exchange.positions(s.copier_id);
      const pos = view.positions.find((p) => p.instrument === INSTRUMENT);
      assert.equal(Number(pos?.qty ?? 0), Number(s.qty), `copier ${s.copier_id}`);
    }
    return slices.length;
  };

  before(async () => {
    port = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(port), TF_COPY_BATCH_SIZE: '100' });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    admin = await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    redis = createRedis(world.config.redisUrl);
    trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    const copiers = [];
    for (let i = 0; i < 500; i++) {
      const id = `c${String(i).padStart(3, '0')}`;
      if (i < ELIGIBLE) copiers.push({ follow: follow(id, trader.traderId), usdt: '10000' });
      else if (i < 480) copiers.push({ follow: follow(id, trader.traderId), usdt: '1' });
      else copiers.push({ follow: follow(id, trader.traderId, { status: 'paused' }), usdt: '10000' });
    }
    await seedCopiers(world.copyRows(), exchange, copiers);
    await startEngine();
  });
  after(async () => {
    socket?.close();
    redis?.disconnect();
    await exchange?.close();
    await world.tearDown();
  });

  it('an open: one exchange order per eligible copier, one skip with its reason per other', async () => {
    const price = (await exchange.price(INSTRUMENT)).price;
    const ack = await socket.send(signal({ signalId: 'o1', price }));
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    assert.equal(ack.duplicate, false);
    await done('o1@lead1');
    assert.equal(await count("SELECT COUNT(*) AS n FROM copy_order WHERE status='FILLED'"), ELIGIBLE);
    const [skips] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT reason, COUNT(*) AS n FROM copy_skip GROUP BY reason ORDER BY reason',
    );
    assert.deepEqual(
      skips.map((s) => [s.reason, Number(s.n)]),
      [
        ['follow-paused', 20],
        ['insufficient-balance', 30],
      ],
    );
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, ELIGIBLE);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.equal(ledger.conserved, true);
    assert.equal(await positionsMatchSlices(), ELIGIBLE);
  });

  it('the same signal again places nothing, through the ingress or straight into the stream', async () => {
    const before = await exchange.ledger();
    const price = (await exchange.price(INSTRUMENT)).price;
    const again = signal({ signalId: 'o1', price });
    const ack = await socket.send(again);
    assert.equal(ack.duplicate, true);
    // past the ingress's dedup: an entry an operator replays
    await replay(again);
    await waitFor(
      'the replayed entry handled',
      async () => (await redis.xlen(signalStreamKey(world.config.redisPrefix))) === 0,
    );
    const after = await exchange.ledger();
    assert.equal(after.ordersApplied, before.ordersApplied);
    assert.equal(after.duplicatedClientOrderIds, 0);
    assert.equal(await count('SELECT COUNT(*) AS n FROM copy_order'), ELIGIBLE);
    assert.equal(await positionsMatchSlices(), ELIGIBLE);
  });

  it('a signal no copier can be sized for is dead-lettered with its reason; the next one goes through', async () => {
    const stream = signalStreamKey(world.config.redisPrefix);
    await replay(signal({ signalId: 'bad1', price: '0' }));
    const price = (await exchange.price(INSTRUMENT)).price;
    await replay(signal({ signalId: 'after1', price }));
    await done('after1@lead1');
    const dead = await redis.xrange(`${stream}:dead`, '-', '+');
    assert.equal(dead.length, 1);
    assert.match(dead[0]?.[1].join(' ') ?? '', /price.*bad1/);
    // acknowledged (and deleted) just after its fan-out is recorded
    await waitFor('the stream emptied', async () => (await redis.xlen(stream)) === 0, 5000);
    // what it placed is undone again below: close the extra open
    await socket.send(signal({ signalId: 'after2', action: 'close', qty: '1', positionBefore: '2', price }));
    await done('after2@lead1');
  });

  it('SIGKILL during a close fan-out: the standby takes over and finishes it, nothing placed twice', async () => {
    // the exchange applies each batch at once and answers 1.5 s later: the kill falls between
    // a second engine waits for the fan-out role while the first holds it
    const holder = async () => {
      const [[f]] = await world.engineDb.query<RowDataPacket[]>(
        "SELECT holder FROM coordinator_fence WHERE name='copy-fanout'",
      );
      return String(f?.holder);
    };
    const standby = world.spawn(['copy']);
    await new Promise((r) => setTimeout(r, 2 * Number(world.config.coordinatorTtlMs)));
    assert.match(await holder(), new RegExp(`-${engine.proc.pid}-`));
    assert.equal(standby.proc.exitCode, null);

    const before = (await exchange.ledger()).ordersApplied;
    await admin.setFaults({ 'exchange/orders': { latencyMs: 1500 } });
    const price = (await exchange.price(INSTRUMENT)).price;
    await socket.send(signal({ signalId: 'x1', action: 'close', qty: '0.5', positionBefore: '1', price }));
    const applied = await waitFor(
      'close orders applied',
      async () => {
        const l = await exchange.ledger();
        return l.ordersApplied > before ? l.ordersApplied : undefined;
      },
      10_000,
      20,
    );
    engine.kill('SIGKILL');
    await engine.exited;
    assert.equal(await count("SELECT COUNT(*) AS n FROM copy_order WHERE signal_key='x1@lead1'"), 0);
    await admin.setFaults({});
    // while it was down, c000 stopped following: its close was filled all the same and must be recorded
    await world.engineDb.query("UPDATE copy_follow SET status='stopped' WHERE copier_id='c000'");
    socket.close();
    socket = await waitFor(
      'the standby to take over',
      () => TraderSocket.open(port, trader.apiKey, trader.secret),
      30_000,
      100,
    );
    assert.match(await holder(), new RegExp(`-${standby.proc.pid}-`));
    engine = standby;
    await done('x1@lead1');
    const ledger = await exchange.ledger();
    assert.ok(applied > before);
    assert.equal(ledger.ordersApplied, before + ELIGIBLE);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.equal(ledger.conserved, true);
    assert.equal(
      await count("SELECT COUNT(*) AS n FROM copy_order WHERE signal_key='x1@lead1' AND status='FILLED'"),
      ELIGIBLE,
    );
    assert.equal(
      await count(
        "SELECT COUNT(*) AS n FROM copy_order WHERE signal_key='x1@lead1' AND copier_id='c000' AND status='FILLED'",
      ),
      1,
    );
    const c000 = (await exchange.positions('c000')).positions.find((p) => p.instrument === INSTRUMENT);
    const [[slice]] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT qty FROM copy_slice WHERE copier_id='c000'",
    );
    assert.equal(Number(c000?.qty ?? 0), Number(slice?.qty));
    // the signal's counts are totals over both deliveries
    assert.equal(await count("SELECT orders AS n FROM copy_signal WHERE signal_key='x1@lead1'"), ELIGIBLE);
    assert.equal(await positionsMatchSlices(), ELIGIBLE);
  });
  it('SIGTERM during a fan-out: the engine records nothing more and exits; the next one finishes it once', async () => {
    const before = (await exchange.ledger()).ordersApplied;
    await admin.setFaults({ 'exchange/orders': { latencyMs: 1500 } });
    const price = (await exchange.price(INSTRUMENT)).price;
    await socket.send(signal({ signalId: 'x2', price }));
    await waitFor(
      'open orders applied',
      async () => ((await exchange.ledger()).ordersApplied > before ? true : undefined),
      10_000,
      20,
    );
    engine.kill('SIGTERM');
    assert.equal(await engine.exited, 0);
    // the answers came in while it stopped: not one of them recorded
    assert.equal(await count("SELECT COUNT(*) AS n FROM copy_order WHERE signal_key='x2@lead1'"), 0);
    await admin.setFaults({});
    socket.close();
    await startEngine();
    await done('x2@lead1');
    // c000 stopped following in the test before
    const eligible = ELIGIBLE - 1;
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, before + eligible);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.equal(
      await count("SELECT COUNT(*) AS n FROM copy_order WHERE signal_key='x2@lead1' AND status='FILLED'"),
      eligible,
    );
  });
});
