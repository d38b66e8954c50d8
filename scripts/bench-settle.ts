/**
 * npm run bench:settle [-- --json] [--duration S] [--rates 200,500,1000] [--latencies 0,5] [--no-search]
 *   [--no-baseline] [--engines N]   (N engine processes sharing the streams)
 *
 * Orders arrive in the counter table at fixed rates; for each rate, the end-to-end latency
 * (row written → DONE) and throughput of the engine, then of a baseline (one plain async
 * function per order, see bench/settle-baseline.ts) on the same orders, the same simulator
 * and the same concurrency. Everything runs on this machine: MariaDB, Redis, simulator,
 * engine or baseline, and this load generator.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { createSimAdmin } from '../src/clients/sim-admin.js';
import { createPool, type Pool } from '../src/infra/mysql/client.js';
import { type Percentiles, percentiles } from '../src/infra/percentiles.js';
import { deleteKeys } from '../src/infra/redis.js';
import { makeCounterRows } from '../src/load/counter-orders.js';
import { writeCounterRows } from '../src/load/write-rows.js';
import { freePort } from '../test/support/harness.js';
import { child, freshDatabases, MYSQL_URL, REDIS_URL, runEnv, stop, waitForSim } from './bench/processes.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    duration: { type: 'string', default: '4' },
    rates: { type: 'string', default: '200,500,1000' },
    latencies: { type: 'string', default: '0,5' },
    'no-search': { type: 'boolean', default: false },
    'no-baseline': { type: 'boolean', default: false },
    engines: { type: 'string', default: '1' },
  },
});
const DURATION_S = Number(values.duration);
const RATES = values.rates.split(',').map(Number);
const LATENCIES = values.latencies.split(',').map(Number);
const ENGINES = Number(values.engines);
const SEARCH = [1500, 2000, 2500, 3000, 4000];
const PREFIX = 'tfbench';
const say = (s: string) => process.stderr.write(`${s}\n`);

type Figures = Omit<Percentiles, 'count'> & { throughput: number; orders: number; unfinished: number };
interface Run {
  rate: number;
  downstreamMs: number;
  engine: Figures;
  baseline?: Figures;
}

interface System {
  name: 'engine' | 'baseline';
  env: Record<string, string>;
  engineDb: Pool;
  counterDb: Pool;
}

async function system(name: System['name'], common: Record<string, string>): Promise<System> {
  const env = { ...common, TF_ENGINE_DB: `tf_bench_${name}`, TF_COUNTER_DB: `tf_bench_${name}_c` };
  await freshDatabases(MYSQL_URL, env.TF_ENGINE_DB, env.TF_COUNTER_DB);
  return {
    name,
    env,
    engineDb: createPool(MYSQL_URL, env.TF_ENGINE_DB, { connections: 2 }),
    counterDb: createPool(MYSQL_URL, env.TF_COUNTER_DB, { connections: 2 }),
  };
}

let runSeq = 0;
/** Writes rate × duration orders at `rate`/s, waits for all to finish, reads the latencies from MySQL. */
async function measure(s: System, rate: number, seconds = DURATION_S): Promise<Figures> {
  const runId = `r${++runSeq}x${rate}`;
  const rows = makeCounterRows(Math.round(rate * seconds), { flow: 'mixed', shards: 16, runId });
  await writeCounterRows(s.counterDb, rows, rate);
  const deadline = Date.now() + 60_000;
  let done = 0;
  while (Date.now() < deadline) {
    const [r] = await s.engineDb.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM settlement_order WHERE status='DONE' AND order_id LIKE ?",
      [`${runId}-%`],
    );
    done = Number(r[0]?.n);
    if (done === rows.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const [lat] = await s.engineDb.query<RowDataPacket[]>(
    "SELECT done_ms - counter_created_ms AS e2e, counter_created_ms AS t0, done_ms FROM settlement_order WHERE status='DONE' AND order_id LIKE ?",
    [`${runId}-%`],
  );
  const first = Math.min(...lat.map((r) => Number(r.t0)));
  const last = Math.max(...lat.map((r) => Number(r.done_ms)));
  const { count: _, ...p } = percentiles(lat.map((r) => Number(r.e2e)));
  return {
    throughput: Math.round((lat.length / Math.max(1, last - first)) * 1000),
    ...p,
    orders: rows.length,
    unfinished: rows.length - done,
  };
}

const sustained = (f: Figures, rate: number) =>
  f.unfinished === 0 && f.throughput >= rate * 0.95 && f.p99 < 100;

async function main(): Promise<void> {
  const port = await freePort();
  const sim = `http://127.0.0.1:${port}`;
  const common = {
    ...runEnv(PREFIX, port),
    TF_POLL_INTERVAL_MS: '5',
  };
  const redis = new Redis(REDIS_URL);
  await deleteKeys(redis, PREFIX);
  const engineSys = await system('engine', common);
  const baseSys = await system('baseline', common);
  const simProc = child(['dist/cli.js', 'sim'], engineSys.env);
  const admin = createSimAdmin(sim);
  await waitForSim(admin);
  say(
    `bench:settle — ${DURATION_S} s of arrivals per rate; poll interval 5 ms; engine concurrency 64 per step, baseline 256 orders`,
  );

  const runs: Run[] = [];
  let maxSustainedRate = 0;
  for (const downstreamMs of LATENCIES) {
    await admin.setFaults({ '*': { latencyMs: downstreamMs } });
    const rates = [...RATES];
    const results = new Map<number, Run>();

    const engines = Array.from({ length: ENGINES }, () => child(['dist/cli.js', 'start'], engineSys.env));
    await measure(engineSys, 300, 2); // warm-up, not reported
    for (const rate of rates) {
      results.set(rate, { rate, downstreamMs, engine: await measure(engineSys, rate) });
      say(`  engine   ${downstreamMs} ms ${rate}/s: ${fmt(results.get(rate)?.engine)}`);
    }
    if (downstreamMs === 0 && !values['no-search']) {
      for (const rate of SEARCH) {
        const f = await measure(engineSys, rate);
        results.set(rate, { rate, downstreamMs, engine: f });
        rates.push(rate);
        say(`  engine   ${downstreamMs} ms ${rate}/s: ${fmt(f)}`);
        if (!sustained(f, rate)) break;
      }
    }
    await Promise.all(engines.map(stop));
    for (const r of results.values())
      if (sustained(r.engine, r.rate) && downstreamMs === 0)
        maxSustainedRate = Math.max(maxSustainedRate, r.rate);

    if (values['no-baseline']) {
      runs.push(...results.values());
      continue;
    }
    const baseline = child(['scripts/bench/settle-baseline.ts'], baseSys.env);
    await measure(baseSys, 300, 2);
    for (const rate of rates) {
      const run = results.get(rate) as Run;
      run.baseline = await measure(baseSys, rate);
      say(`  baseline ${downstreamMs} ms ${rate}/s: ${fmt(run.baseline)}`);
    }
    await stop(baseline);
    runs.push(...results.values());
  }

  printTable(runs, maxSustainedRate);
  await admin.close();
  await stop(simProc);
  redis.disconnect();
  for (const s of [engineSys, baseSys]) {
    await s.engineDb.end();
    await s.counterDb.end();
  }
  if (values.json) {
    const strip = ({ orders: _o, unfinished: _u, ...f }: Figures) => f;
    process.stdout.write(
      `${JSON.stringify({
        runs: runs.map((r) => ({
          rate: r.rate,
          downstreamMs: r.downstreamMs,
          engine: strip(r.engine),
          baseline: r.baseline && strip(r.baseline),
        })),
        maxSustainedRate,
      })}\n`,
    );
  }
}

const fmt = (f?: Figures) =>
  f
    ? `thr ${f.throughput}/s p50 ${f.p50} p90 ${f.p90} p99 ${f.p99} max ${f.max} ms${f.unfinished ? ` (${f.unfinished} unfinished)` : ''}`
    : '-';

function printTable(runs: Run[], maxSustainedRate: number): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const cols = (f?: Figures) =>
    f
      ? [f.throughput, f.p50, f.p90, f.p99, f.max].map((v) => String(v).padStart(7)).join(' ')
      : ' '.repeat(39);
  const ratio = (e: Figures, b?: Figures) =>
    b
      ? (['throughput', 'p50', 'p90', 'p99', 'max'] as const)
          .map((k) => (e[k] / Math.max(b[k], 0.001)).toFixed(2).padStart(6))
          .join(' ')
      : '';
  out('\nend-to-end latency in ms (counter row written → DONE), throughput in orders/s');
  out(
    `${'down'.padStart(4)} ${'rate'.padStart(5)} | engine:     thr     p50     p90     p99     max | baseline:   thr     p50     p90     p99     max | engine/baseline: thr    p50    p90    p99    max`,
  );
  for (const r of runs) {
    out(
      `${`${r.downstreamMs}ms`.padStart(4)} ${String(r.rate).padStart(5)} | ${cols(r.engine)}     | ${cols(r.baseline)}     |             ${ratio(r.engine, r.baseline)}`,
    );
  }
  out(
    `highest sustained engine rate (downstream 0 ms; throughput ≥ 95% of rate and p99 < 100 ms): ${maxSustainedRate}/s`,
  );
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
