/**
 * npm run soak [-- --orders N] [--rate R] [--json]
 *
 * Settles N orders (default 100,000) written into the counter table at R/s (default 500)
 * by one engine, and every second samples Redis `used_memory` and the engine's RSS. Prints
 * per minute the orders finished, their end-to-end p99 (counter row written → DONE) and the
 * largest samples, then totals. Exits 1 if Redis went over 200 MB or the engine over 400 MB
 * (1 MB = 10^6 bytes) at any sample, if an order did not finish DONE, or if the simulator's
 * ledger is wrong. Own databases and Redis prefix, removed at the end; the engine and
 * simulator run compiled (dist/), as in `npm run bench:settle`.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { createSimAdmin } from '../src/clients/sim-admin.js';
import { createPool } from '../src/infra/mysql/client.js';
import { percentiles } from '../src/infra/percentiles.js';
import { deleteKeys } from '../src/infra/redis.js';
import { makeCounterRows } from '../src/load/counter-orders.js';
import { writeCounterRows } from '../src/load/write-rows.js';
import { ledgerCheck } from '../src/settlement/ops/ledger-report.js';
import { runningEngines } from '../src/settlement/steps/presence.js';
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
import { type Minute, PerMinute, redisUsedMemory, rssBytes } from './soak/samples.js';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '500' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npm run soak [-- --orders N] [--rate R] [--json]\n' +
      '  settles N orders (100000) at R/s (500); per minute: orders done, p99, max Redis used_memory, max engine RSS\n' +
      '  exits 1 over 200 MB Redis or 400 MB RSS, or when an order is lost or the ledger is wrong\n',
  );
  process.exit(0);
}
const ORDERS = Number(values.orders);
const RATE = Number(values.rate);
if (!(Number.isInteger(ORDERS) && ORDERS > 0 && RATE > 0)) {
  process.stderr.write('--orders and --rate: expected positive numbers\n');
  process.exit(2);
}
const LIMITS = { redisBytes: 200e6, rssBytes: 400e6 };
/** no order finished for this long after the last was written: the rest are lost */
const STALL_MS = 120_000;
const PREFIX = 'tfsoak';
const ENGINE_DB = 'tf_soak';
const COUNTER_DB = 'tf_soak_c';
const say = (s: string) => process.stderr.write(`${s}\n`);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const port = await freePort();
  const sim = `http://127.0.0.1:${port}`;
  const env = {
    ...runEnv(PREFIX, port),
    TF_ENGINE_DB: ENGINE_DB,
    TF_COUNTER_DB: COUNTER_DB,
    // as in bench:settle, so the latencies compare
    TF_POLL_INTERVAL_MS: '5',
  };
  const redis = new Redis(REDIS_URL);
  await deleteKeys(redis, PREFIX);
  await freshDatabases(MYSQL_URL, ENGINE_DB, COUNTER_DB);
  const engineDb = createPool(MYSQL_URL, ENGINE_DB, { connections: 2 });
  const counterDb = createPool(MYSQL_URL, COUNTER_DB, { connections: 2 });
  const simProc = child(['dist/cli.js', 'sim'], env);
  const admin = createSimAdmin(sim);
  const engine = child(['dist/cli.js', 'start'], env);
  const cleanUp = async () => {
    await stop(engine);
    await admin.close();
    await stop(simProc);
    await engineDb.end();
    await counterDb.end();
    await dropDatabases(MYSQL_URL, ENGINE_DB, COUNTER_DB);
    await deleteKeys(redis, PREFIX);
    redis.disconnect();
  };
  process.once('SIGINT', () => {
    say('interrupted; cleaning up');
    cleanUp().finally(() => process.exit(130));
  });

  try {
    await waitForSim(admin);
    await waitForEngine(redis, engine.pid);
    const baseline = await redisUsedMemory(redis);
    say(
      `soak — ${ORDERS} orders at ${RATE}/s, one engine (pid ${engine.pid}), poll 5 ms; Redis used_memory before: ${mb(baseline)} MB`,
    );

    // 1. sample every second, from the first order written until the last is finished
    const startMs = Date.now();
    const perMinute = new PerMinute(startMs);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const [r, rss] = await Promise.all([redisUsedMemory(redis), rssBytes(engine.pid as number)]);
          perMinute.sample(Date.now(), r, rss);
        } catch (err) {
          say(`  sample failed: ${(err as Error).message}`);
        }
        await sleep(1000);
      }
    })();

    // 2. the orders, then wait for them to finish
    const runId = `soak${startMs.toString(36)}`;
    const writing = writeCounterRows(
      counterDb,
      makeCounterRows(ORDERS, { flow: 'mixed', shards: 16, runId }),
      RATE,
    ).then(() => {
      say(`  all ${ORDERS} written after ${Math.round((Date.now() - startMs) / 1000)} s`);
    });
    const counts = await waitFinished(engineDb, runId, writing, startMs);
    sampling = false;
    await sampler;

    // 3. latencies, ledger, verdict
    const [rows] = await engineDb.query<RowDataPacket[]>(
      "SELECT done_ms, done_ms - counter_created_ms AS e2e FROM settlement_order WHERE status='DONE' AND order_id LIKE ?",
      [`${runId}-%`],
    );
    const finished = rows.map((r) => ({ doneMs: Number(r.done_ms), e2eMs: Number(r.e2e) }));
    const minutes = perMinute.minutes(finished);
    const ledger = await ledgerCheck(sim, engineDb, `${runId}-`);
    const totals = {
      orders: ORDERS,
      done: counts.DONE,
      manual: counts.MANUAL,
      unfinished: ORDERS - counts.DONE - counts.MANUAL,
      p99Ms: finished.length ? percentiles(finished.map((f) => f.e2eMs)).p99 : null,
      maxRedisBytes: Math.max(...minutes.map((m) => m.maxRedisBytes)),
      maxRssBytes: Math.max(...minutes.map((m) => m.maxRssBytes)),
      seconds: Math.round((Date.now() - startMs) / 1000),
    };
    const failures = [
      totals.maxRedisBytes >= LIMITS.redisBytes && `Redis used_memory reached ${mb(totals.maxRedisBytes)} MB`,
      totals.maxRssBytes >= LIMITS.rssBytes && `engine RSS reached ${mb(totals.maxRssBytes)} MB`,
      counts.DONE !== ORDERS && `${ORDERS - counts.DONE} of ${ORDERS} orders not DONE`,
      (engine.exitCode !== null || engine.signalCode !== null) && 'the engine exited during the run',
      !ledger.ok && `ledger: ${JSON.stringify(ledger)}`,
    ].filter((f): f is string => typeof f === 'string');

    if (values.json) {
      process.stdout.write(`${JSON.stringify({ minutes, totals, ledger, limits: LIMITS, failures })}\n`);
    } else {
      printTable(minutes, totals);
      process.stdout.write(
        `ledger: conserved ${ledger.conserved}, double effects ${ledger.doubleEffects}, missing effects ${ledger.missingEffects}\n`,
      );
      process.stdout.write(
        failures.length
          ? `FAILED: ${failures.join('; ')}\n`
          : `OK: every order DONE, ledger clean, Redis < ${mb(LIMITS.redisBytes)} MB and engine RSS < ${mb(LIMITS.rssBytes)} MB throughout\n`,
      );
    }
    return failures.length ? 1 : 0;
  } finally {
    await cleanUp();
  }
}

async function waitForEngine(redis: Redis, pid: number | undefined): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (pid === undefined || (await rssBytes(pid)) === null) throw new Error('the engine exited at start');
    if ((await runningEngines(redis, PREFIX)).length > 0) return;
    await sleep(100);
  }
  throw new Error('the engine did not start within 30 s');
}

/** Polls the counts until every order is finished, or none finished for STALL_MS after the writes. */
async function waitFinished(
  pool: ReturnType<typeof createPool>,
  runId: string,
  writing: Promise<void>,
  startMs: number,
): Promise<{ DONE: number; MANUAL: number; RUNNING: number }> {
  let written = false;
  let failed = false;
  writing.then(
    () => {
      written = true;
    },
    () => {
      failed = true;
    },
  );
  let last = { DONE: 0, MANUAL: 0, RUNNING: 0 };
  let progressMs = Date.now();
  let reportMs = Date.now();
  for (;;) {
    await sleep(1000);
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT status, COUNT(*) AS n FROM settlement_order WHERE order_id LIKE ? GROUP BY status',
      [`${runId}-%`],
    );
    const c = { DONE: 0, MANUAL: 0, RUNNING: 0 };
    for (const r of rows) c[r.status as keyof typeof c] = Number(r.n);
    if (c.DONE + c.MANUAL > last.DONE + last.MANUAL) progressMs = Date.now();
    last = c;
    if (Date.now() - reportMs >= 10_000) {
      reportMs = Date.now();
      say(
        `  ${Math.round((reportMs - startMs) / 1000)} s: ${c.DONE} done, ${c.RUNNING} running, ${c.MANUAL} manual`,
      );
    }
    if (failed || (written && c.DONE + c.MANUAL === ORDERS)) break;
    if (written && Date.now() - progressMs > STALL_MS) {
      say(`  no order finished for ${STALL_MS / 1000} s; giving up`);
      break;
    }
  }
  await writing;
  return last;
}

function printTable(
  minutes: Minute[],
  t: {
    done: number;
    p99Ms: number | null;
    maxRedisBytes: number;
    maxRssBytes: number;
    seconds: number;
    unfinished: number;
    manual: number;
  },
): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const p99 = (v: number | null) => (v === null ? '-' : String(Math.round(v)));
  out(
    `\nsoak: ${ORDERS} orders at ${RATE}/s, ${t.seconds} s; end-to-end = counter row written → DONE; 1 MB = 10^6 bytes`,
  );
  out('\n| minute | orders done | p99 ms | max Redis used_memory MB | max engine RSS MB |');
  out('|---:|---:|---:|---:|---:|');
  for (const m of minutes) {
    out(`| ${m.minute} | ${m.done} | ${p99(m.p99Ms)} | ${mb(m.maxRedisBytes)} | ${mb(m.maxRssBytes)} |`);
  }
  out(
    `| **all** | **${t.done}** | **${p99(t.p99Ms)}** | **${mb(t.maxRedisBytes)}** | **${mb(t.maxRssBytes)}** |`,
  );
  out(`\n${t.done} DONE, ${t.manual} MANUAL, ${t.unfinished} unfinished`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
