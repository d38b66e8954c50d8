/**
 * npm run bench:copy [-- --copiers 500,2000,5000] [--signals 200] [--warmup 20] [--baseline-signals N] [--no-baseline] [--json]
 *
 * One lead trader per size with that many copiers; 200 signals alternating open and close,
 * each sent when the previous one is done, after 20 warm-up signals that are not counted
 * (--warmup; V8 compiles the hot code as it runs). Latency: from the signal frame's arrival at the
 * ingress (its receive time in the stream entry) to the last copier order acknowledged by
 * the exchange simulator and recorded in MySQL (copy_signal.done_ms). In the same run a
 * naive baseline (one awaited HTTP order per copier and one INSERT per order) for a ratio;
 * it runs fewer signals (it is slow) from the first order sent to the last INSERT.
 * The simulator and the copy engine run compiled (dist/); everything shares this machine.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type InstrumentId } from '../src/clients/exchange.js';
import { createSimAdmin } from '../src/clients/sim-admin.js';
import { loadConfig } from '../src/config.js';
import { copyChangePublisher } from '../src/copytrade/copy-changes.js';
import { signalKeyOf } from '../src/copytrade/fanout/fanout.js';
import { createPool, type Pool } from '../src/infra/mysql/client.js';
import { type Percentiles, percentiles } from '../src/infra/percentiles.js';
import { deleteKeys } from '../src/infra/redis.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../src/load/copy-world.js';
import { freePort } from '../test/support/harness.js';
import {
  child,
  dropDatabases,
  freshDatabases,
  MYSQL_URL,
  REDIS_URL,
  runEnv,
  stop,
  waitForSim,
} from './bench/processes.js';

const { values } = parseArgs({
  options: {
    copiers: { type: 'string', default: '500,2000,5000' },
    signals: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    'baseline-signals': { type: 'string' },
    'no-baseline': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npm run bench:copy [-- --copiers 500,2000,5000] [--signals 200] [--warmup 20] [--baseline-signals N] [--no-baseline] [--json]\n',
  );
  process.exit(0);
}
const SIZES = values.copiers.split(',').map(Number);
const SIGNALS = Number(values.signals);
/** signals sent first and not counted: the engine's code is compiled by V8 as it runs */
const WARMUP = Number(values.warmup);
const PREFIX = 'tfbcopy';
const ENGINE_DB = 'tf_bench_copy';
const COUNTER_DB = 'tf_bench_copy_c';
const say = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** the naive loop takes about copiers × 2 ms per signal: fewer signals for the big sizes */
const baselineSignals = (n: number) =>
  Number(values['baseline-signals'] ?? Math.max(4, Math.min(20, 10_000 / n)));

interface Run {
  copiers: number;
  engine: Percentiles;
  baseline: Percentiles | null;
}

async function main(): Promise<number> {
  const simPort = await freePort();
  const ingressPort = await freePort();
  const sim = `http://127.0.0.1:${simPort}`;
  const env = {
    ...runEnv(PREFIX, simPort),
    TF_ENGINE_DB: ENGINE_DB,
    TF_COUNTER_DB: COUNTER_DB,
    TF_COPY_INGRESS_PORT: String(ingressPort),
  };
  const redis = new Redis(REDIS_URL);
  await deleteKeys(redis, PREFIX);
  await freshDatabases(MYSQL_URL, ENGINE_DB, COUNTER_DB);
  const db = createPool(MYSQL_URL, ENGINE_DB, { connections: 4 });
  const simProc = child(['dist/cli.js', 'sim'], env);
  const admin = createSimAdmin(sim);
  const exchange = createExchangeClient(sim, { connections: 16 });
  let engine: ReturnType<typeof child> | null = null;
  try {
    await waitForSim(admin);
    const traders = [];
    // the engine inherits this process's environment, TF_SECRET_KEY with it
    const rows = { db, publish: copyChangePublisher(redis, PREFIX), secretKey: loadConfig().secretKey };
    for (const n of SIZES) {
      const t = await seedTrader(rows, exchange, `lead${n}`);
      const copiers = Array.from({ length: n }, (_, i) => ({
        follow: follow(`b${n}-${i}`, t.traderId, { sizing: { mode: 'fixed-amount', margin: '10' } }),
        usdt: '1000000',
      }));
      await seedCopiers(rows, exchange, copiers);
      traders.push({ n, ...t });
      say(`seeded ${n} copiers of ${t.traderId}`);
    }
    engine = child(['dist/cli.js', 'copy'], env);
    const runs: Run[] = [];
    for (const t of traders) {
      const socket = await waitOpen(ingressPort, t.apiKey, t.secret);
      for (let i = -WARMUP; i < SIGNALS; i++) {
        const price = (await exchange.price(INSTRUMENT as InstrumentId)).price;
        const signalId = i < 0 ? `w${-i}` : `s${i}`;
        const open = i % 2 === 0;
        const ack = await socket.send(
          signalOf(t.traderId, {
            signalId,
            price,
            action: open ? 'open' : 'close',
            positionBefore: open ? '0' : '1',
          }),
        );
        if (ack.type !== 'ack') throw new Error(`signal refused: ${JSON.stringify(ack)}`);
        await waitDone(db, signalKeyOf(t.traderId, signalId));
      }
      socket.close();
      const [rows] = await db.query<RowDataPacket[]>(
        "SELECT done_ms - received_ms AS ms, orders FROM copy_signal WHERE trader_id=? AND signal_key LIKE 's%'",
        [t.traderId],
      );
      const placed = rows.reduce((a, r) => a + Number(r.orders), 0);
      if (placed !== SIGNALS * t.n)
        say(`  warning: ${placed} orders for ${SIGNALS} signals × ${t.n} copiers`);
      const engineP = percentiles(rows.map((r) => Number(r.ms)));
      const baseline = values['no-baseline'] ? null : await naive(db, exchange, t.n, baselineSignals(t.n));
      runs.push({ copiers: t.n, engine: engineP, baseline });
      say(
        `${t.n} copiers: engine p99 ${engineP.p99} ms${baseline ? `, baseline p99 ${baseline.p99} ms` : ''}`,
      );
    }
    print(runs);
    const ledger = await exchange.ledger();
    say(
      `exchange ledger: conserved ${ledger.conserved}, orders ${ledger.ordersApplied}, duplicated client order ids ${ledger.duplicatedClientOrderIds}`,
    );
    return ledger.conserved && ledger.duplicatedClientOrderIds === 0 ? 0 : 1;
  } finally {
    if (engine) await stop(engine);
    await admin.close();
    await exchange.close();
    await stop(simProc);
    await db.end();
    await dropDatabases(MYSQL_URL, ENGINE_DB, COUNTER_DB);
    await deleteKeys(redis, PREFIX);
    redis.disconnect();
  }
}

async function waitOpen(port: number, apiKey: string, secret: string): Promise<TraderSocket> {
  for (let i = 0; ; i++) {
    try {
      return await TraderSocket.open(port, apiKey, secret);
    } catch (err) {
      if (i > 600) throw err;
      await sleep(100);
    }
  }
}

async function waitDone(db: Pool, signalKey: string): Promise<void> {
  for (const until = Date.now() + 60_000; Date.now() < until; ) {
    if (await fannedOut(db, signalKey)) return;
    // the latency is read from the rows, not from this loop: a slower poll disturbs the run less
    await sleep(20);
  }
  throw new Error(`signal ${signalKey} not done within 60 s`);
}

/** One awaited HTTP order per copier and one INSERT per order, signal after signal. */
async function naive(
  db: Pool,
  exchange: ReturnType<typeof createExchangeClient>,
  n: number,
  signals: number,
) {
  const qty = '0.1';
  const took: number[] = [];
  for (let s = 0; s < signals; s++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const copierId = `b${n}-${i}`;
      const clientOrderId = `naive${s}@lead${n}:${copierId}`;
      const fill = await exchange.placeOrder({
        account: copierId,
        clientOrderId,
        instrument: INSTRUMENT as InstrumentId,
        side: s % 2 === 0 ? 'buy' : 'sell',
        qty,
        reduceOnly: s % 2 === 1,
      });
      await db.query(
        "INSERT INTO copy_order (client_order_id, signal_key, copier_id, trader_id, instrument, action, side, qty, status, fill_price, fee, created_ms) VALUES (?, ?, ?, ?, ?, ?, 'long', ?, 'FILLED', ?, ?, ?)",
        [
          clientOrderId,
          `naive${s}@lead${n}`,
          copierId,
          `lead${n}`,
          INSTRUMENT,
          s % 2 === 0 ? 'open' : 'close',
          fill.qty,
          fill.price,
          fill.fee,
          Date.now(),
        ],
      );
    }
    took.push(performance.now() - t0);
  }
  return percentiles(took);
}

function print(runs: Run[]): void {
  const f = (p: Percentiles | null) => (p ? `${p.p50} | ${p.p90} | ${p.p99} | ${p.max}` : '- | - | - | -');
  const lines = [
    '| copiers | engine p50 | p90 | p99 | max | baseline p50 | p90 | p99 | max | baseline/engine p99 |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      (r) =>
        `| ${r.copiers} | ${f(r.engine)} | ${f(r.baseline)} | ${r.baseline ? (r.baseline.p99 / r.engine.p99).toFixed(1) : '-'} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.json) {
    const strip = (p: Percentiles | null) => (p ? { p50: p.p50, p90: p.p90, p99: p.p99, max: p.max } : null);
    process.stdout.write(
      `${JSON.stringify({ runs: runs.map((r) => ({ copiers: r.copiers, engine: strip(r.engine), baseline: strip(r.baseline) })) })}\n`,
    );
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    say(`bench:copy failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
