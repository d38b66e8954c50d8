/**
 * npm run bench:copy [-- --copiers 500,2000,5000] [--processes 1[,2,3]] [--signals 200]
 *   [--warmup 20] [--interval-ms N] [--reps 1] [--kill] [--baseline-signals N] [--no-baseline] [--json]
 *
 * Per size, one lead trader with that many copiers, seeded once; then, per repetition and
 * per process count (the order of the counts reversed every other repetition), that many
 * `tradeflow copy` processes of one deployment (TF_COPY_PARTITIONS = the count), 20
 * uncounted warm-up signals (each sent when the previous is done: V8 compiles the hot code,
 * the processes settle their partitions), then the measured signals alternating open and
 * close on a fixed schedule, one every --interval-ms (default copiers / 10, at least 250):
 * a signal is sent at its time even if earlier ones are not done, and its latency runs from
 * that scheduled time to the last partition's record of it (copy_signal.done_ms), so a
 * stall is counted in every signal it delays (no coordinated omission). A signal not done
 * 120 s after the last was sent counts as infinitely late. CPU per copy order is read from
 * /proc for each copy process, the simulator, MariaDB and Redis over the measured window.
 * --kill: with 2 processes or more, `kill -9` half-way through of a copy process other than
 * the one serving the trader's socket (it holds partitions of the fan-out); the
 * run then checks that nothing was lost (every measured signal done, one filled order per
 * copier each) and nothing doubled (the exchange ledger's client order ids, every copier
 * flat on the exchange and in its slices at the end).
 * In the same run, per size, a naive baseline (one awaited HTTP order per copier and one
 * INSERT per order; fewer signals, it is slow) for a ratio. Everything runs compiled
 * (dist/) and shares this machine.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type InstrumentId } from '../src/clients/exchange.js';
import { createSimAdmin } from '../src/clients/sim-admin.js';
import { loadConfig } from '../src/config.js';
import { copyChangePublisher } from '../src/copytrade/copy-changes.js';
import { fx } from '../src/copytrade/domain/fixed.js';
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
  type CopyProcess,
  cpuMsSinceStart,
  markStart,
  startCopyProcesses,
  stopCopyProcesses,
} from './bench/copy-processes.js';
import { clockTicks, findPid, readTicks } from './bench/proc-stat.js';
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
import { type Latency, latency, show } from './bench/stats.js';

const USAGE =
  'usage: npm run bench:copy [-- --copiers 500,2000,5000] [--processes 1[,2,3]] [--signals 200] [--warmup 20] [--interval-ms N] [--reps 1] [--kill] [--baseline-signals N] [--no-baseline] [--json]\n';
const { values } = parseArgs({
  options: {
    copiers: { type: 'string', default: '500,2000,5000' },
    processes: { type: 'string', default: '1' },
    signals: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    'interval-ms': { type: 'string' },
    reps: { type: 'string', default: '1' },
    kill: { type: 'boolean', default: false },
    'baseline-signals': { type: 'string' },
    'no-baseline': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const SIZES = values.copiers.split(',').map(Number);
const PROCESSES = values.processes.split(',').map(Number);
const SIGNALS = Number(values.signals);
/** signals sent first and not counted: V8 compiles the hot code, the processes take their partitions */
const WARMUP = Number(values.warmup);
const REPS = Number(values.reps);
if (
  [...SIZES, ...PROCESSES, REPS].some((v) => !Number.isInteger(v) || v < 1) ||
  !Number.isInteger(SIGNALS) ||
  SIGNALS < 2 ||
  SIGNALS % 2 !== 0 ||
  !Number.isInteger(WARMUP) ||
  WARMUP % 2 !== 0
) {
  process.stderr.write(
    `copiers, processes and reps are whole numbers ≥ 1; signals and warmup even\n${USAGE}`,
  );
  process.exit(2);
}
const intervalMs = (copiers: number) => Number(values['interval-ms'] ?? Math.max(250, copiers / 10));
const PREFIX = 'tfbcopy';
const ENGINE_DB = 'tf_bench_copy';
const COUNTER_DB = 'tf_bench_copy_c';
/** how long after the last signal was sent the ones not done count as never done */
const DRAIN_MS = 120_000;
const say = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** the naive loop takes about copiers × 2 ms per signal: fewer signals for the big sizes */
const baselineSignals = (n: number) =>
  Number(values['baseline-signals'] ?? Math.max(4, Math.min(20, 10_000 / n)));

interface Run {
  copiers: number;
  processes: number;
  rep: number;
  intervalMs: number;
  latency: Latency;
  /** CPU ms per copy order: all copy processes together, and the busiest one's share of the window */
  copyCpuMsPerOrder: number | null;
  busiestCpuPct: number | null;
  otherCpuMsPerOrder: { sim: number | null; mariadb: number | null; redis: number | null };
  /** filled copy orders of the measured signals, and what they should be (signals × copiers) */
  filled: number;
  expected: number;
  killed: boolean;
  /** copiers holding a position on the exchange or in a slice after the run's last close */
  notFlat: number;
}

interface World {
  db: Pool;
  exchange: ReturnType<typeof createExchangeClient>;
  env: Record<string, string>;
  simPid: number;
  trader: { traderId: string; apiKey: string; secret: string };
  copierIds: string[];
}

async function main(): Promise<number> {
  const runs: Run[] = [];
  const baselines = new Map<number, Percentiles>();
  let ok = true;
  for (const n of SIZES) {
    const simPort = await freePort();
    const sim = `http://127.0.0.1:${simPort}`;
    const env = { ...runEnv(PREFIX, simPort), TF_ENGINE_DB: ENGINE_DB, TF_COUNTER_DB: COUNTER_DB };
    const redis = new Redis(REDIS_URL);
    await deleteKeys(redis, PREFIX);
    await freshDatabases(MYSQL_URL, ENGINE_DB, COUNTER_DB);
    const db = createPool(MYSQL_URL, ENGINE_DB, { connections: 4 });
    const simProc = child(['dist/cli.js', 'sim'], env);
    const admin = createSimAdmin(sim);
    // a simulator saturated by 20,000 copiers answers the bench's own price reads late, not never
    const exchange = createExchangeClient(sim, { connections: 16, timeoutMs: 60_000 });
    try {
      await waitForSim(admin);
      // the engine inherits this process's environment, TF_SECRET_KEY with it
      const rows = { db, publish: copyChangePublisher(redis, PREFIX), secretKey: loadConfig().secretKey };
      const trader = await seedTrader(rows, exchange, `lead${n}`);
      const copierIds = Array.from({ length: n }, (_, i) => `b${n}-${i}`);
      await seedCopiers(
        rows,
        exchange,
        copierIds.map((id) => ({
          follow: follow(id, trader.traderId, { sizing: { mode: 'fixed-amount', margin: '10' } }),
          usdt: '1000000',
        })),
      );
      say(`seeded ${n} copiers of ${trader.traderId}`);
      const world: World = { db, exchange, env, simPid: simProc.pid as number, trader, copierIds };
      for (let rep = 0; rep < REPS; rep++) {
        const order = rep % 2 === 0 ? PROCESSES : [...PROCESSES].reverse();
        for (const processes of order) {
          const run = await runOnce(world, processes, rep, values.kill && processes > 1);
          runs.push(run);
          const good = run.filled === run.expected && run.notFlat === 0 && run.latency.unfinished === 0;
          ok &&= good;
          say(
            `${n} copiers, ${processes} process(es), rep ${rep + 1}: p99 ${show(run.latency.p99)} ms, ` +
              `${run.filled}/${run.expected} filled, ${run.notFlat} not flat${run.killed ? ', one process killed' : ''}`,
          );
        }
      }
      if (!values['no-baseline']) baselines.set(n, await naive(db, exchange, n, baselineSignals(n)));
      const ledger = await exchange.ledger();
      say(
        `exchange ledger: conserved ${ledger.conserved}, orders ${ledger.ordersApplied}, duplicated client order ids ${ledger.duplicatedClientOrderIds}`,
      );
      ok &&= ledger.conserved && ledger.duplicatedClientOrderIds === 0;
    } finally {
      await admin.close();
      await exchange.close();
      await stop(simProc);
      await db.end();
      await dropDatabases(MYSQL_URL, ENGINE_DB, COUNTER_DB);
      await deleteKeys(redis, PREFIX);
      redis.disconnect();
    }
  }
  print(runs, baselines);
  return ok ? 0 : 1;
}

/** One deployment of `processes` copy processes: warm-up, the measured schedule, its checks. */
async function runOnce(w: World, processes: number, rep: number, kill: boolean): Promise<Run> {
  const n = w.copierIds.length;
  const tag = `r${rep}p${processes}`;
  const copies = await startCopyProcesses(processes, w.env);
  let socket: TraderSocket | undefined;
  try {
    const opened = await waitOpen(copies, w.trader.apiKey, w.trader.secret);
    const via = opened.via;
    socket = opened.socket;
    const on = socket;
    const send = async (i: number, id: string) => {
      const price = (await w.exchange.price(INSTRUMENT as InstrumentId)).price;
      const open = i % 2 === 0;
      const ack = await on.send(
        signalOf(w.trader.traderId, {
          signalId: id,
          price,
          action: open ? 'open' : 'close',
          positionBefore: open ? '0' : '1',
        }),
      );
      if (ack.type !== 'ack') throw new Error(`signal refused: ${JSON.stringify(ack)}`);
    };
    for (let i = 0; i < WARMUP; i++) {
      await send(i, `${tag}w${i}`);
      await waitDone(w.db, signalKeyOf(w.trader.traderId, `${tag}w${i}`), 60_000);
    }
    const every = intervalMs(n);
    const ticks = clockTicks();
    const servers = { mariadb: findPid('mariadbd', 'mysqld'), redis: findPid('redis-server') };
    const before = {
      sim: readTicks(w.simPid),
      mariadb: servers.mariadb ? readTicks(servers.mariadb) : null,
      redis: servers.redis ? readTicks(servers.redis) : null,
    };
    markStart(copies);
    let victimMs: number | null = null;
    const scheduled: number[] = [];
    const t0 = Date.now() + 50;
    for (let i = 0; i < SIGNALS; i++) {
      const at = t0 + i * every;
      scheduled.push(at);
      const wait = at - Date.now();
      if (wait > 0) await sleep(wait);
      if (kill && i === SIGNALS / 2) {
        // one whose ingress the bench's socket is not on: it holds a partition of the fan-out
        const victim = copies[(via + 1) % copies.length] as CopyProcess;
        victimMs = cpuMsSinceStart([victim], ticks)[0] ?? null;
        victim.proc.kill('SIGKILL');
      }
      await send(i, `${tag}s${i}`);
    }
    const keys = scheduled.map((_, i) => signalKeyOf(w.trader.traderId, `${tag}s${i}`));
    const drainUntil = Date.now() + DRAIN_MS;
    for (const k of keys)
      await waitDone(w.db, k, Math.max(0, drainUntil - Date.now())).catch(() => undefined);
    const cpu = cpuMsSinceStart(copies, ticks);
    const windowMs = Date.now() - t0;
    if (victimMs !== null) cpu[(via + 1) % copies.length] = victimMs;
    const done = await doneTimes(w.db, keys);
    const latencies = keys.flatMap((k, i) => {
      const d = done.get(k);
      return d === undefined ? [] : [d - (scheduled[i] as number)];
    });
    const filled = await filledOrders(w.db, w.trader.traderId, `${tag}s%`);
    const per = (from: number | null, to: number | null) =>
      from === null || to === null || filled === 0 ? null : (((to - from) / ticks) * 1000) / filled;
    const known = cpu.filter((c): c is number => c !== null);
    return {
      copiers: n,
      processes,
      rep,
      intervalMs: every,
      latency: latency(latencies, keys.length - latencies.length),
      copyCpuMsPerOrder: filled === 0 ? null : known.reduce((a, b) => a + b, 0) / filled,
      busiestCpuPct: known.length === 0 ? null : (Math.max(...known) / windowMs) * 100,
      otherCpuMsPerOrder: {
        sim: per(before.sim, readTicks(w.simPid)),
        mariadb: servers.mariadb ? per(before.mariadb, readTicks(servers.mariadb)) : null,
        redis: servers.redis ? per(before.redis, readTicks(servers.redis)) : null,
      },
      filled,
      expected: SIGNALS * n,
      killed: victimMs !== null,
      notFlat: await notFlat(w),
    };
  } finally {
    socket?.close();
    await stopCopyProcesses(copies);
  }
}

/** The time the last partition recorded each signal as done. */
async function doneTimes(db: Pool, keys: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const k of keys) {
    if (!(await fannedOut(db, k))) continue;
    const [rows] = await db.query<RowDataPacket[]>(
      'SELECT MAX(done_ms) AS done FROM copy_signal WHERE signal_key=?',
      [k],
    );
    out.set(k, Number(rows[0]?.done));
  }
  return out;
}

async function filledOrders(db: Pool, traderId: string, signalPattern: string): Promise<number> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM copy_order WHERE trader_id=? AND signal_key LIKE ? AND status='FILLED'",
    [traderId, `${signalPattern}@${traderId}`],
  );
  return Number(rows[0]?.n);
}

/** Copiers holding anything after a run's last close: in a slice, or on the exchange. */
async function notFlat(w: World): Promise<number> {
  const [rows] = await w.db.query<RowDataPacket[]>(
    'SELECT COUNT(DISTINCT copier_id) AS n FROM copy_slice WHERE trader_id=? AND qty <> 0',
    [w.trader.traderId],
  );
  let open = Number(rows[0]?.n);
  for (let i = 0; i < w.copierIds.length; i += 64) {
    const batch = w.copierIds.slice(i, i + 64);
    const positions = await Promise.all(batch.map((id) => w.exchange.positions(id)));
    open += positions.filter((p) => p.positions.some((x) => fx(x.qty) !== 0n)).length;
  }
  return open;
}

/** The trader's socket on whichever process serves the ingress, and that process's index. */
async function waitOpen(
  copies: CopyProcess[],
  apiKey: string,
  secret: string,
): Promise<{ socket: TraderSocket; via: number }> {
  for (let i = 0; ; i++) {
    for (const [via, c] of copies.entries()) {
      try {
        return { socket: await TraderSocket.open(c.ingressPort, apiKey, secret), via };
      } catch (err) {
        if (i > 600) throw err;
      }
    }
    await sleep(100);
  }
}

async function waitDone(db: Pool, signalKey: string, timeoutMs: number): Promise<void> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; ) {
    if (await fannedOut(db, signalKey)) return;
    // the latency is read from the rows, not from this loop: a slower poll disturbs the run less
    await sleep(20);
  }
  throw new Error(`signal ${signalKey} not done within ${timeoutMs} ms`);
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

function print(runs: Run[], baselines: Map<number, Percentiles>): void {
  const f = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '-' : v.toFixed(d));
  const lines = [
    '| copiers | processes | rep | every (ms) | p50 | p90 | p99 | max | not done | copy CPU ms / order (all processes) | busiest process CPU % | simulator / MariaDB / Redis CPU ms / order | filled / expected | not flat | killed |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      (r) =>
        `| ${r.copiers} | ${r.processes} | ${r.rep + 1} | ${r.intervalMs} | ${show(r.latency.p50)} | ${show(r.latency.p90)} | ${show(r.latency.p99)} | ${show(r.latency.max)} | ${r.latency.unfinished} | ${f(r.copyCpuMsPerOrder, 3)} | ${f(r.busiestCpuPct, 0)} | ${f(r.otherCpuMsPerOrder.sim, 3)} / ${f(r.otherCpuMsPerOrder.mariadb, 3)} / ${f(r.otherCpuMsPerOrder.redis, 3)} | ${r.filled} / ${r.expected} | ${r.notFlat} | ${r.killed ? 'yes' : 'no'} |`,
    ),
  ];
  if (baselines.size > 0) {
    lines.push(
      '',
      '| copiers | baseline p50 | p90 | p99 | max | baseline p99 / engine p99 (1 process, median of reps) |',
      '|---|---|---|---|---|---|',
    );
    for (const [n, b] of baselines) {
      const own = runs.filter((r) => r.copiers === n && r.processes === 1 && r.latency.p99 !== null);
      const p99s = own.map((r) => r.latency.p99 as number).sort((a, b) => a - b);
      const median = p99s.length === 0 ? null : (p99s[(p99s.length - 1) >> 1] as number);
      lines.push(
        `| ${n} | ${b.p50} | ${b.p90} | ${b.p99} | ${b.max} | ${median ? (b.p99 / median).toFixed(1) : '-'} |`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ runs, baselines: Object.fromEntries(baselines) })}\n`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    say(`bench:copy failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
