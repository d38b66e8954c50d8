/**
 * npm run bench:settle [-- --json] [--quick] [--warmup S] [--duration S] [--reps N] [--drain S]
 *   [--rates 200,500,1000] [--latencies 0,5] [--no-search] [--no-baseline] [--engines N]
 *   [--gen-connections N] [--seed N] [--writers 2,3,4] [--source poll,kafka] [--chain-warmup S]
 *   [--no-realtime]
 *   --quick: 1 repetition, 3 s warm-up, 10 s per rate, no search for the highest sustained rate
 *   --writers: the engine side once per TF_OUTCOME_WRITERS value (the baseline once); `engine`,
 *     the targets and the highest sustained rate are the first value's, every value is in
 *     `engineByWriters` (and its own rows). Without it: the engine's default.
 *   --source: the engine side once per intake source in each repetition, the order reversed
 *     every other repetition (as engine and baseline alternate). `poll` (the default, the
 *     runs as without the flag): the poller on the counter table of this machine's MariaDB.
 *     `kafka`: the production path. A CDC chain (test/infra/cdc-chain.ts: a second MariaDB
 *     with a ROW binlog holding `tradeflow_counter`, Canal 1.1.4, a Kafka 4.4.0 node) is
 *     started once for the whole benchmark, in a process of its own (scripts/bench/
 *     cdc-chain-proc.ts), and stopped at the end, on failure and on SIGINT/SIGTERM; the
 *     generator writes into that MariaDB and the engine (TF_SOURCE=kafka) consumes the topic.
 *     Each kafka run: a truncated counter table and a new consumer group committed at the
 *     topic's end (why: scripts/bench/cdc-source.ts), its own engine database and Redis
 *     prefix, and TF_RECONCILE_GRACE_MS at its maximum (1 h) so the reconciler, which would
 *     take in at 1 s what Kafka has not brought yet, cannot hide Kafka's latency: an order
 *     Kafka loses shows as unfinished. Per source: end-to-end latency, throughput, intake
 *     latency (intake_ms − counter_created_ms), orders by settlement_order.source, orders of
 *     other runs that reached the run (`stray`, should be 0), CPU per order of the engine
 *     and, for kafka, of the Kafka JVM, the Canal JVM and the counter's mariadbd (`all`
 *     includes them: on the poll side the one mariadbd holds both databases); printed side
 *     by side, in --json as `engineBySource`. MySQL counters are of this machine's MariaDB
 *     only, which on the kafka side no longer sees the counter's INSERTs. With --writers,
 *     only one of the two flags may list several values. The baseline always polls.
 *   --chain-warmup: seconds of rows at the first rate sent through the chain once it is up,
 *     before any run (default 30, --quick 10, 0: none): its JVMs start cold, and without it
 *     the first kafka run measured their JIT (at 200/s intake fell from ~3 s to ~0.4 s over
 *     13 s). Nothing consumes these; the first run's truncate and fresh group leave them behind.
 *   --no-realtime: leave this process (the generator) at normal scheduling
 *
 * Open-loop load: each order has a scheduled arrival time (Poisson spacing at the rate); the
 * generator writes its counter row at that time over several connections, stamped with that
 * time, and end-to-end latency runs from it to DONE (done_ms − counter_created_ms), so a
 * stalled system cannot hold arrivals back. Per rate: a warm-up, then the measured window;
 * orders of the window still unfinished after the drain count as infinitely late. Each
 * repetition runs engine and baseline (src/load/settle-baseline.ts) alternately, who goes
 * first alternating too, each on a fresh simulator, fresh databases and a fresh Redis prefix,
 * both compiled (dist/). Everything runs on this machine: MariaDB, Redis, simulator, engine
 * or baseline, and this generator. CPU, Redis and MySQL counts are machine-wide for the
 * servers: other work on the machine is charged to the run.
 *
 * The generator must issue arrivals on time (a run whose generator p99 lag is > 1 ms is marked
 * invalid), so this process raises itself to SCHED_FIFO (scripts/bench/sched.ts) with reset on
 * fork: engine, baseline and simulator run at normal scheduling, MariaDB and Redis as they are
 * started. If it is not permitted it says so and runs at normal scheduling; the lag decides
 * validity either way. Its CPU is still measured, apart (cpuMsPerOrder.generator). It keeps 32
 * connections by default: with 8, MariaDB's commits (one fsync each) at 500/s left arrivals
 * waiting for a free connection (generator.heldByConnections), which is lag too.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { createSimAdmin } from '../src/clients/sim-admin.js';
import { createPool, type Pool } from '../src/infra/mysql/client.js';
import { migrateDatabase } from '../src/infra/mysql/migrate.js';
import { deleteKeys } from '../src/infra/redis.js';
import { makeCounterRows } from '../src/load/counter-orders.js';
import { preciseNow, TIMER_EARLY_MS, writeOpenLoop } from '../src/load/open-loop.js';
import { poissonArrivals, seededRandom } from '../src/load/schedule.js';
import { freePort } from '../test/support/harness.js';
import { type BenchChain, freshKafkaRun, startBenchChain, waitJoined } from './bench/cdc-source.js';
import { clockTicks, cpuMsPerOrder, findPid, readTicks } from './bench/proc-stat.js';
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
import { GENERATOR_RT_PRIORITY, raiseToRealtime, schedulingOf } from './bench/sched.js';
import { commandCalls, deltas, MYSQL_COUNTERS, sum } from './bench/server-stats.js';
import { type Latency, latency, type Ms, type Spread, show, spread } from './bench/stats.js';
import { evaluateTargets, type Target } from './bench/targets.js';

const say = (s: string) => process.stderr.write(`${s}\n`);
function usage(message: string): never {
  process.stderr.write(`bench:settle: ${message}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        warmup: { type: 'string' },
        duration: { type: 'string' },
        reps: { type: 'string' },
        drain: { type: 'string', default: '30' },
        rates: { type: 'string', default: '200,500,1000' },
        latencies: { type: 'string', default: '0,5' },
        'no-search': { type: 'boolean', default: false },
        'no-baseline': { type: 'boolean', default: false },
        engines: { type: 'string', default: '1' },
        'gen-connections': { type: 'string', default: '32' },
        seed: { type: 'string', default: '13' },
        writers: { type: 'string' },
        source: { type: 'string' },
        'chain-warmup': { type: 'string' },
        'no-realtime': { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
})();
const num = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number ≥ ${min} (got "${v}")`);
  return n;
};
const list = (name: string, v: string, min: number) => v.split(',').map((x) => num(name, x.trim(), min));
const WARMUP_S = num('warmup', values.warmup ?? (values.quick ? '3' : '10'), 0);
const DURATION_S = num('duration', values.duration ?? (values.quick ? '10' : '30'), 1);
const REPS = Math.floor(num('reps', values.reps ?? (values.quick ? '1' : '3'), 1));
const DRAIN_S = num('drain', values.drain, 1);
const RATES = list('rates', values.rates, 1);
const LATENCIES = list('latencies', values.latencies, 0);
const ENGINES = Math.floor(num('engines', values.engines, 1));
const GEN_CONNECTIONS = Math.floor(num('gen-connections', values['gen-connections'], 1));
const SEED = Math.floor(num('seed', values.seed, 0));
/** TF_OUTCOME_WRITERS per engine run; undefined: not set, the engine's default */
const WRITERS: (number | undefined)[] = values.writers
  ? list('writers', values.writers, 1).map(Math.floor)
  : [undefined];
type Source = 'poll' | 'kafka';
const SOURCES: Source[] = [
  ...new Set(
    (values.source ?? 'poll').split(',').map((x) => {
      const v = x.trim();
      if (v !== 'poll' && v !== 'kafka') usage(`--source takes poll and/or kafka (got "${v}")`);
      return v as Source;
    }),
  ),
];
if (SOURCES.length > 1 && WRITERS.length > 1)
  usage('only one of --writers and --source may list several values');
const CHAIN_WARMUP_S = num('chain-warmup', values['chain-warmup'] ?? (values.quick ? '10' : '30'), 0);
const SEARCH = [1500, 2000, 2500, 3000, 4000].filter((r) => r > Math.max(...RATES));
const MAX_GENERATOR_P99_LAG_MS = 1;
const POLL_INTERVAL_MS = '5';
/** TF_RECONCILE_GRACE_MS of the kafka side: its maximum, 1 h (why: the header) */
const RECONCILE_GRACE_MAX_MS = '3600000';

type Side = 'engine' | 'baseline';
/** One thing measured: the baseline, or the engine at a TF_OUTCOME_WRITERS value */
interface Variant {
  side: Side;
  writers?: number;
  /** the engine's intake; the baseline polls */
  source?: Source;
}
const label = (v: Variant) =>
  [v.side, v.writers === undefined ? '' : `w=${v.writers}`, values.source && v.source ? v.source : '']
    .filter(Boolean)
    .join(' ');
const PROCESSES = ['settler', 'mariadbd', 'redis', 'simulator', 'generator'] as const;
/** the kafka side's processes besides: the JVMs and the counter's own MariaDB */
const CHAIN_PROCESSES = ['kafka', 'canal', 'counterdb'] as const;
type ChainProc = (typeof CHAIN_PROCESSES)[number];
type Proc = (typeof PROCESSES)[number] | ChainProc;
type Cpu = Record<(typeof PROCESSES)[number] | 'total', Ms> & Partial<Record<ChainProc, Ms>>;

/** One side, one rate, one repetition. */
interface Sample {
  rep: number;
  latency: Latency;
  throughput: number;
  orders: number;
  generator: {
    lag: Latency;
    inserts: number;
    connections: number;
    heldByConnections: number;
    eventLoopDelayP99Ms: number;
    /** ms it slept out the last ms before arrivals (its event loop blocked, in the delay above) */
    sleptMs: number;
  };
  /** policy of each process of the run while it ran (the generator: this process) */
  scheduling: { generator: string | null; settler: (string | null)[]; simulator: string | null };
  valid: boolean;
  reason?: string;
  /** CPU ms per order in the measured window; `total` is every process but the generator */
  cpuMsPerOrder: Cpu;
  source: Source;
  /** intake_ms − counter_created_ms of the run's orders taken in (never taken in: unfinished) */
  intake: Latency;
  /** the run's orders by settlement_order.source (poll, kafka, reconciler) */
  bySource: Record<string, number>;
  /** orders of other runs in the run's engine database (kafka: what slipped past the fresh group) */
  stray: number;
  redisCommandsPerOrder: number;
  redisTopCommandsPerOrder: Record<string, number>;
  /** MySQL status counter deltas per order (the generator's INSERTs included: generator.inserts) */
  mysqlPerOrder: Record<string, number>;
  /** engine only, from settlement_order and settlement_step */
  stages?: Record<string, Latency>;
}

interface Snapshot {
  at: number;
  ticks: Partial<Record<Proc, number | null>>;
  redis: Map<string, number>;
  mysql: Map<string, number>;
}

let runSeq = 0;
const shared = { redis: new Redis(REDIS_URL), mysql: createPool(MYSQL_URL, 'mysql', { connections: 1 }) };
/**
 * The servers' pids as they give them (MariaDB's pid file, Redis' INFO): the first process
 * named mariadbd is not always TF_MYSQL_URL's, the tests' binlog MariaDBs come and go.
 * By name only if they do not say.
 */
const serverPids: { mariadbd: number | null; redis: number | null } = { mariadbd: null, redis: null };
async function findServerPids(): Promise<void> {
  const [vars] = await shared.mysql.query<RowDataPacket[]>("SHOW GLOBAL VARIABLES LIKE 'pid_file'");
  try {
    serverPids.mariadbd = Number(readFileSync(String(vars[0]?.Value), 'utf8').trim()) || null;
  } catch {
    serverPids.mariadbd = null;
  }
  serverPids.mariadbd ??= findPid('mariadbd', 'mysqld');
  const pid = /^process_id:(\d+)/m.exec(await shared.redis.info('server'))?.[1];
  serverPids.redis = pid ? Number(pid) : findPid('redis-server');
}

/** the CDC chain, while --source kafka runs */
let chain: BenchChain | undefined;
/** every engine, baseline and simulator running now: a signal stops them before exiting */
const live = new Set<ChildProcess>();
let interrupted = false;
const track = (c: ChildProcess) => {
  live.add(c);
  c.once('exit', () => live.delete(c));
  if (interrupted) void stop(c);
  return c;
};

async function snapshot(pids: Partial<Record<Proc, number[]>>): Promise<Snapshot> {
  const ticks: Snapshot['ticks'] = {};
  for (const [p, list] of Object.entries(pids) as [Proc, number[]][]) {
    const t = list.map(readTicks);
    ticks[p] =
      t.length === 0 || t.some((x) => x === null) ? null : (t as number[]).reduce((a, b) => a + b, 0);
  }
  const [info, [status]] = await Promise.all([
    shared.redis.info('commandstats'),
    shared.mysql.query<RowDataPacket[]>('SHOW GLOBAL STATUS WHERE Variable_name IN (?)', [MYSQL_COUNTERS]),
  ]);
  return {
    at: Date.now(),
    ticks,
    redis: commandCalls(info),
    mysql: new Map(status.map((r) => [String(r.Variable_name), Number(r.Value)])),
  };
}

/** Resolves with what `fn` gives at wall-clock time `atMs`. */
const at = <T>(atMs: number, fn: () => Promise<T>): Promise<T> =>
  new Promise((resolve, reject) =>
    setTimeout(() => fn().then(resolve, reject), Math.max(0, atMs - Date.now())),
  );

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One side at one rate: fresh world, warm-up, measured window, drain, figures. */
async function runOnce(variant: Variant, rate: number, downstreamMs: number, rep: number): Promise<Sample> {
  const { side, writers } = variant;
  const source: Source = side === 'engine' ? (variant.source ?? 'poll') : 'poll';
  const seq = ++runSeq;
  const prefix = `tfbench${seq}`;
  const port = await freePort();
  const kafka = source === 'kafka' ? chain : undefined;
  if (source === 'kafka' && !kafka) throw new Error('--source kafka without its chain');
  const group = `tfbench-${process.pid}-${seq}`;
  const env: Record<string, string> = {
    ...runEnv(prefix, port),
    TF_POLL_INTERVAL_MS: POLL_INTERVAL_MS,
    TF_ENGINE_DB: `tf_bench_${side}${source === 'kafka' ? '_kafka' : ''}`,
    TF_COUNTER_DB: `tf_bench_${side}_c`,
    ...(writers === undefined ? {} : { TF_OUTCOME_WRITERS: String(writers) }),
    ...(kafka
      ? {
          // the counter on the chain's MariaDB (its database name is Canal's filter)
          ...kafka.env,
          TF_SOURCE: 'kafka',
          TF_KAFKA_GROUP: group,
          TF_RECONCILE_GRACE_MS: RECONCILE_GRACE_MAX_MS,
        }
      : {}),
  };
  const engineDbName = env.TF_ENGINE_DB as string;
  const counterDbName = env.TF_COUNTER_DB as string;
  if (kafka) {
    // the counter database is the chain's, only emptied (never dropped here: the name is also
    // the default counter database of this machine's MariaDB)
    await dropDatabases(MYSQL_URL, engineDbName);
    await migrateDatabase(MYSQL_URL, engineDbName, 'engine');
    await freshKafkaRun(kafka, group);
  } else await freshDatabases(MYSQL_URL, engineDbName, counterDbName);
  await deleteKeys(shared.redis, prefix);
  const engineDb = createPool(MYSQL_URL, engineDbName, { connections: 2 });
  const genPool = createPool(kafka ? kafka.counterUrl : MYSQL_URL, counterDbName, {
    connections: GEN_CONNECTIONS,
  });
  const sim = track(child(['dist/cli.js', 'sim'], env));
  const settlers: ReturnType<typeof child>[] = [];
  const admin = createSimAdmin(`http://127.0.0.1:${port}`);
  try {
    await waitForSim(admin);
    await admin.setFaults({ '*': { latencyMs: downstreamMs } });
    if (side === 'engine')
      for (let i = 0; i < ENGINES; i++) settlers.push(track(child(['dist/cli.js', 'start'], env)));
    else settlers.push(track(child(['dist/load/settle-baseline.js'], env)));
    // both take the coordinator role (and with it the poller) once up
    await waitFor(
      `${side} coordinator`,
      30_000,
      async () => (await shared.redis.exists(`${prefix}:coordinator`)) === 1,
    );
    // kafka: every engine in the group with its partitions, or the first arrivals wait for the join
    if (kafka) await waitJoined(kafka, group, ENGINES);
    // every generator connection open before the first arrival
    const conns = await Promise.all(Array.from({ length: GEN_CONNECTIONS }, () => genPool.getConnection()));
    for (const c of conns) c.release();

    // the same schedule and orders for both sides of a repetition
    const random = seededRandom(SEED * 1_000_003 + rep * 10_007 + rate * 31 + downstreamMs);
    const offsets = poissonArrivals(rate, (WARMUP_S + DURATION_S) * 1000, random);
    const warm = offsets.filter((o) => o < WARMUP_S * 1000).length;
    const measuredRun = `m${seq}`;
    const rows = [
      ...makeCounterRows(warm, { flow: 'mixed', shards: 16, runId: `w${seq}` }, random),
      ...makeCounterRows(offsets.length - warm, { flow: 'mixed', shards: 16, runId: measuredRun }, random),
    ];
    const orders = rows.length - warm;
    const t0 = preciseNow() + 100;
    const pids: Partial<Record<Proc, number[]>> = {
      settler: settlers.map((c) => c.pid as number),
      mariadbd: serverPids.mariadbd ? [serverPids.mariadbd] : [],
      redis: serverPids.redis ? [serverPids.redis] : [],
      simulator: [sim.pid as number],
      generator: [process.pid],
      ...(kafka
        ? Object.fromEntries(CHAIN_PROCESSES.map((p) => [p, kafka.pids[p] === null ? [] : [kafka.pids[p]]]))
        : {}),
    };
    const procs: Proc[] = kafka ? [...PROCESSES, ...CHAIN_PROCESSES] : [...PROCESSES];
    const before = at(t0 + WARMUP_S * 1000, () => snapshot(pids));
    const after = at(t0 + (WARMUP_S + DURATION_S) * 1000, () => snapshot(pids));
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const written = await writeOpenLoop(
      genPool,
      rows,
      offsets.map((o) => t0 + o),
      GEN_CONNECTIONS,
    );
    loop.disable();
    const scheduling = {
      generator: schedulingOf(process.pid),
      settler: settlers.map((c) => schedulingOf(c.pid as number)),
      simulator: schedulingOf(sim.pid as number),
    };
    const [s0, s1] = await Promise.all([before, after]);

    const like = `${measuredRun}-%`;
    const countDone = async () => {
      const [r] = await engineDb.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM settlement_order WHERE status='DONE' AND order_id LIKE ?",
        [like],
      );
      return Number(r[0]?.n);
    };
    await waitFor('drain', DRAIN_S * 1000, async () => (await countDone()) >= orders).catch(() => undefined);
    const [lat] = await engineDb.query<RowDataPacket[]>(
      "SELECT done_ms - counter_created_ms AS e2e, counter_created_ms AS t0, done_ms FROM settlement_order WHERE status='DONE' AND order_id LIKE ?",
      [like],
    );
    const unfinished = orders - lat.length;
    // every order of the run taken in, done or not: intake latency and who brought it
    const [taken] = await engineDb.query<RowDataPacket[]>(
      'SELECT intake_ms - counter_created_ms AS intake, source FROM settlement_order WHERE order_id LIKE ?',
      [like],
    );
    const bySource: Record<string, number> = {};
    for (const r of taken) bySource[String(r.source)] = (bySource[String(r.source)] ?? 0) + 1;
    const [strays] = await engineDb.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM settlement_order WHERE order_id NOT LIKE ? AND order_id NOT LIKE ?',
      [like, `w${seq}-%`],
    );
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for (const r of lat) {
      first = Math.min(first, Number(r.t0));
      last = Math.max(last, Number(r.done_ms));
    }
    const lag = latency(written.lagMs.subarray(warm));
    const valid = lag.p99 !== null && lag.p99 <= MAX_GENERATOR_P99_LAG_MS;
    const clk = clockTicks();
    const cpu = {} as Cpu;
    for (const p of procs) {
      const a = s0.ticks[p];
      const b = s1.ticks[p];
      cpu[p] = a == null || b == null ? null : cpuMsPerOrder(a, b, clk, orders);
    }
    const parts = procs.filter((p) => p !== 'generator').map((p) => cpu[p] ?? null);
    cpu.total = parts.some((v) => v === null) ? null : (parts as number[]).reduce((a, b) => a + b, 0);
    const redisDelta = deltas(s0.redis, s1.redis);
    const per = (n: number) => Number((n / Math.max(1, orders)).toFixed(3));
    const top = [...redisDelta.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
    return {
      rep,
      latency: latency(
        lat.map((r) => Number(r.e2e)),
        unfinished,
      ),
      throughput: lat.length > 0 ? Math.round((lat.length / Math.max(1, last - first)) * 1000) : 0,
      orders,
      generator: {
        lag,
        inserts: written.inserts,
        connections: GEN_CONNECTIONS,
        heldByConnections: written.heldByConnections,
        eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
        sleptMs: Math.round(written.sleptMs),
      },
      scheduling,
      valid,
      ...(valid
        ? {}
        : { reason: `generator p99 lag ${show(lag.p99, 2)} ms > ${MAX_GENERATOR_P99_LAG_MS} ms` }),
      cpuMsPerOrder: cpu,
      source,
      intake: latency(
        taken.map((r) => Number(r.intake)),
        orders - taken.length,
      ),
      bySource,
      stray: Number(strays[0]?.n ?? 0),
      redisCommandsPerOrder: per(sum(redisDelta)),
      redisTopCommandsPerOrder: Object.fromEntries(top.map(([k, v]) => [k, per(v)])),
      mysqlPerOrder: Object.fromEntries(
        MYSQL_COUNTERS.map((k) => [k, per((s1.mysql.get(k) ?? 0) - (s0.mysql.get(k) ?? 0))]),
      ),
      ...(side === 'engine' ? { stages: await stages(engineDb, like) } : {}),
    };
  } finally {
    await Promise.all(settlers.map(stop));
    await admin.close();
    await stop(sim);
    await Promise.all([engineDb.end(), genPool.end()]);
    await deleteKeys(shared.redis, prefix);
  }
}

/**
 * Where an engine order's time goes, from the stamps the engine stores. settlement_step has
 * started_ms/finished_ms per attempt (finished: the call returned, before the outcome write);
 * settlement_order has intake_ms, done_ms (= step 4's finished_ms) and updated_ms (when the
 * outcome writer began the DONE transaction). The commit's own end is not stored: "done
 * write" is the wait for the writer up to the start of its transaction.
 */
async function stages(db: Pool, like: string): Promise<Record<string, Latency>> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT o.order_id AS id, o.counter_created_ms AS c, o.intake_ms AS i, o.done_ms AS d, o.updated_ms AS u,
            s.step, s.started_ms AS s0, s.finished_ms AS s1, s.latency_ms AS l
       FROM settlement_order o JOIN settlement_step s ON s.order_id = o.order_id
      WHERE o.status='DONE' AND o.order_id LIKE ? AND s.status='OK'`,
    [like],
  );
  type Order = {
    c: number;
    i: number;
    d: number;
    u: number;
    steps: ({ s0: number; s1: number; l: number } | undefined)[];
  };
  const byOrder = new Map<string, Order>();
  for (const r of rows) {
    const id = String(r.id);
    let o = byOrder.get(id);
    if (!o) {
      o = { c: Number(r.c), i: Number(r.i), d: Number(r.d), u: Number(r.u), steps: [] };
      byOrder.set(id, o);
    }
    o.steps[Number(r.step)] = { s0: Number(r.s0), s1: Number(r.s1), l: Number(r.l) };
  }
  const v: Record<string, number[]> = { intake: [], 'wait step 1': [] };
  for (let k = 1; k <= 4; k++) v[`call ${k}`] = [];
  for (let k = 1; k < 4; k++) v[`hand-off ${k}→${k + 1}`] = [];
  v['done write'] = [];
  for (const o of byOrder.values()) {
    v.intake?.push(o.i - o.c);
    if (o.steps[1]) v['wait step 1']?.push(o.steps[1].s0 - o.i);
    for (let k = 1; k <= 4; k++) {
      const s = o.steps[k];
      if (s) v[`call ${k}`]?.push(s.l);
      const n = o.steps[k + 1];
      if (s && n) v[`hand-off ${k}→${k + 1}`]?.push(n.s0 - s.s1);
    }
    v['done write']?.push(o.u - o.d);
  }
  return Object.fromEntries(Object.entries(v).map(([k, xs]) => [k, latency(xs)]));
}

const FIGURES = ['p50', 'p90', 'p99', 'p99_9', 'max'] as const;

/** A side's repetitions at one rate: medians in the old shape, spreads and the samples beside. */
function summarize(samples: Sample[]) {
  const s = (f: (x: Sample) => Ms) => spread(samples.map(f));
  const lat = Object.fromEntries(FIGURES.map((k) => [k, s((x) => x.latency[k])])) as Record<
    (typeof FIGURES)[number],
    Spread
  >;
  const thr = s((x) => x.throughput);
  const kafka = samples.some((x) => x.source === 'kafka');
  const cpu = Object.fromEntries(
    [...PROCESSES, ...(kafka ? CHAIN_PROCESSES : []), 'total' as const].map((p) => [
      p,
      s((x) => x.cpuMsPerOrder[p] ?? null).median,
    ]),
  ) as Cpu;
  const sources = [...new Set(samples.flatMap((x) => Object.keys(x.bySource)))].sort();
  const stageNames = Object.keys(samples[0]?.stages ?? {});
  return {
    throughput: thr.median ?? 0,
    p50: lat.p50.median,
    p90: lat.p90.median,
    p99: lat.p99.median,
    p99_9: lat.p99_9.median,
    max: lat.max.median,
    orders: s((x) => x.orders).median ?? 0,
    unfinished: s((x) => x.latency.unfinished).median ?? 0,
    valid: samples.every((x) => x.valid),
    invalidReasons: samples.filter((x) => !x.valid).map((x) => `rep ${x.rep}: ${x.reason}`),
    spread: { throughput: thr, ...lat },
    cpuMsPerOrder: cpu,
    source: samples[0]?.source ?? 'poll',
    /** intake_ms − counter_created_ms, ms, medians over repetitions */
    intake: Object.fromEntries(FIGURES.map((k) => [k, s((x) => x.intake[k]).median])) as Record<
      (typeof FIGURES)[number],
      Ms
    >,
    bySource: Object.fromEntries(sources.map((k) => [k, s((x) => x.bySource[k] ?? 0).median ?? 0])),
    stray: s((x) => x.stray).max ?? 0,
    redisCommandsPerOrder: s((x) => x.redisCommandsPerOrder).median,
    mysqlPerOrder: Object.fromEntries(
      MYSQL_COUNTERS.map((k) => [k, s((x) => x.mysqlPerOrder[k] ?? 0).median]),
    ),
    generatorLagP99: s((x) => x.generator.lag.p99),
    generatorEventLoopDelayP99Ms: s((x) => x.generator.eventLoopDelayP99Ms),
    ...(stageNames.length > 0
      ? {
          stages: Object.fromEntries(
            stageNames.map((n) => [
              n,
              Object.fromEntries(FIGURES.map((k) => [k, s((x) => x.stages?.[n]?.[k] ?? null).median])),
            ]),
          ),
        }
      : {}),
    reps: samples,
  };
}
type Figures = ReturnType<typeof summarize>;

interface Run {
  rate: number;
  downstreamMs: number;
  engine: Figures;
  /** with --writers: the engine's figures per TF_OUTCOME_WRITERS value (`engine` is the first's) */
  engineByWriters?: Record<string, Figures>;
  /** with --source: the engine's figures per intake source (`engine` is the first's) */
  engineBySource?: Partial<Record<Source, Figures>>;
  baseline?: Figures;
}

const sustained = (f: Figures | undefined, rate: number) =>
  f !== undefined && f.unfinished === 0 && f.throughput >= rate * 0.95 && f.p99 !== null && f.p99 < 100;

/** Every repetition of one rate, sides alternating and who goes first alternating. */
async function measureRate(rate: number, downstreamMs: number): Promise<Run> {
  // one of WRITERS and SOURCES has a single value (parseArgs' check)
  const engines: Variant[] = WRITERS.flatMap((writers) =>
    SOURCES.map((source) => ({
      side: 'engine' as const,
      source,
      ...(writers === undefined ? {} : { writers }),
    })),
  );
  const samples = new Map<Variant, Sample[]>();
  const baseline: Variant = { side: 'baseline' };
  for (let rep = 0; rep < REPS; rep++) {
    // sources alternate who goes first as engine and baseline do; writers keep their order
    const order = rep % 2 === 0 || SOURCES.length === 1 ? engines : [...engines].reverse();
    const variants: Variant[] = values['no-baseline']
      ? order
      : rep % 2 === 0
        ? [...order, baseline]
        : [baseline, ...order];
    for (const v of variants) {
      const x = await runOnce(v, rate, downstreamMs, rep);
      samples.set(v, [...(samples.get(v) ?? []), x]);
      say(
        `  ${label(v).padEnd(values.source ? 14 : 8)} ${downstreamMs} ms ${rate}/s rep ${rep + 1}/${REPS}: ${fmt(x)}`,
      );
    }
  }
  const figures = new Map(engines.map((v) => [v, summarize(samples.get(v) ?? [])]));
  const ofSource = engines.filter((v) => v.source === SOURCES[0]);
  const byWriters = ofSource.map((v) => [String(v.writers), figures.get(v) as Figures] as const);
  const bySource = engines
    .filter((v) => v.writers === WRITERS[0])
    .map((v) => [v.source as Source, figures.get(v) as Figures] as const);
  const [first] = byWriters;
  if (!first) throw new Error('no engine variant');
  const baselineSamples = samples.get(baseline) ?? [];
  return {
    rate,
    downstreamMs,
    engine: first[1],
    ...(values.writers ? { engineByWriters: Object.fromEntries(byWriters) } : {}),
    ...(values.source ? { engineBySource: Object.fromEntries(bySource) } : {}),
    ...(baselineSamples.length > 0 ? { baseline: summarize(baselineSamples) } : {}),
  };
}

const fmt = (x: Sample) =>
  `thr ${x.throughput}/s p50 ${show(x.latency.p50)} p99 ${show(x.latency.p99)} p99.9 ${show(x.latency.p99_9)} max ${show(x.latency.max)} ms` +
  `${x.latency.unfinished ? ` (${x.latency.unfinished} unfinished)` : ''}; gen lag p99 ${show(x.generator.lag.p99, 2)} ms (${x.generator.heldByConnections} held by busy connections, event-loop delay p99 ${show(x.generator.eventLoopDelayP99Ms, 1)} ms, slept ${x.generator.sleptMs} ms; ${x.scheduling.generator})` +
  `${x.valid ? '' : ' INVALID'}; cpu/order ${show(x.cpuMsPerOrder.settler, 3)} ms settler, ${show(x.cpuMsPerOrder.total, 3)} ms all` +
  `; intake p50 ${show(x.intake.p50)} p99 ${show(x.intake.p99)} ms; by source ${JSON.stringify(x.bySource)}${x.stray ? `; ${x.stray} STRAY orders of other runs` : ''}`;

/** Raises this process to real time unless told not to; what it runs at, for the report. */
function generatorScheduling(): string {
  if (values['no-realtime']) {
    say('bench:settle: --no-realtime: the generator runs at normal scheduling');
  } else {
    const failed = raiseToRealtime(process.pid);
    if (failed)
      say(
        `bench:settle: could not raise the generator to SCHED_FIFO ${GENERATOR_RT_PRIORITY} (${failed}); it runs at normal scheduling, runs are valid only if its lag says so`,
      );
  }
  return schedulingOf(process.pid) ?? 'unknown';
}

/** The engine's figures of a run: one per TF_OUTCOME_WRITERS value */
/** The engine's figures of a run, tagged: one per TF_OUTCOME_WRITERS value (w=N) or per source */
const engineVariants = (r: Run): [string, Figures][] =>
  r.engineByWriters
    ? Object.entries(r.engineByWriters).map(([x, f]) => [`w=${x}`, f])
    : r.engineBySource
      ? (Object.entries(r.engineBySource) as [string, Figures][])
      : [['default', r.engine]];

async function main(): Promise<void> {
  await findServerPids();
  const scheduling = generatorScheduling();
  say(
    `bench:settle — ${WARMUP_S} s warm-up + ${DURATION_S} s measured per rate, ${REPS} repetition(s), Poisson arrivals, ` +
      `${GEN_CONNECTIONS} generator connections, poll interval ${POLL_INTERVAL_MS} ms; mariadbd pid ${serverPids.mariadbd ?? '?'}, redis-server pid ${serverPids.redis ?? '?'}; generator ${scheduling}${scheduling.startsWith('SCHED_OTHER') ? '' : ', its children reset to normal scheduling'}` +
      `${values.writers ? `; engine TF_OUTCOME_WRITERS ${WRITERS.join(', ')}` : ''}` +
      `${values.source ? `; engine sources ${SOURCES.join(', ')}` : ''}`,
  );
  if (SOURCES.includes('kafka')) {
    // after the raise to real time: the chain's processes start at normal scheduling
    say('bench:settle: starting the CDC chain (binlog MariaDB, Canal, Kafka) for the kafka side');
    chain = await startBenchChain();
    say(
      `bench:settle: CDC chain up: counter ${chain.counterUrl}, brokers ${chain.env.TF_KAFKA_BROKERS}, topic ${chain.topic}; pids kafka ${chain.pids.kafka ?? '?'}, canal ${chain.pids.canal ?? '?'}, counter mariadbd ${chain.pids.counterdb ?? '?'}`,
    );
  }
  if (chain && CHAIN_WARMUP_S > 0) await warmChain(chain);
  const runs: Run[] = [];
  for (const downstreamMs of LATENCIES) {
    for (const rate of RATES) runs.push(await measureRate(rate, downstreamMs));
    if (downstreamMs === 0 && !values['no-search'] && !values.quick) {
      for (const rate of SEARCH) {
        const prev = runs.filter((r) => r.downstreamMs === 0);
        const last = prev[prev.length - 1];
        if (
          last &&
          !engineVariants(last).some(([, f]) => sustained(f, last.rate)) &&
          !sustained(last.baseline, last.rate)
        )
          break;
        runs.push(await measureRate(rate, downstreamMs));
      }
    }
  }
  const maxOf = (side: Side) =>
    Math.max(0, ...runs.filter((r) => r.downstreamMs === 0 && sustained(r[side], r.rate)).map((r) => r.rate));
  const maxSustainedRate = maxOf('engine');
  const maxSustainedRateByWriters = values.writers
    ? Object.fromEntries(
        WRITERS.map((w) => [
          String(w),
          Math.max(
            0,
            ...runs
              .filter((r) => r.downstreamMs === 0 && sustained(r.engineByWriters?.[String(w)], r.rate))
              .map((r) => r.rate),
          ),
        ]),
      )
    : undefined;
  const baselineMaxSustainedRate = values['no-baseline'] ? null : maxOf('baseline');
  const targets = evaluateTargets(
    runs.map((r) => ({
      rate: r.rate,
      downstreamMs: r.downstreamMs,
      engine: {
        p99: r.engine.p99,
        cpuMsPerOrder: { engine: r.engine.cpuMsPerOrder.settler, total: r.engine.cpuMsPerOrder.total },
      },
      ...(r.baseline ? { baseline: { p99: r.baseline.p99 } } : {}),
    })),
    { engine: maxSustainedRate, baseline: baselineMaxSustainedRate },
  );
  printTable(runs, maxSustainedRate, baselineMaxSustainedRate, targets, maxSustainedRateByWriters);
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        runs,
        maxSustainedRate,
        ...(maxSustainedRateByWriters ? { maxSustainedRateByWriters } : {}),
        baselineMaxSustainedRate,
        valid: runs.every((r) => engineVariants(r).every(([, f]) => f.valid) && (r.baseline?.valid ?? true)),
        targets,
        settings: {
          warmupS: WARMUP_S,
          durationS: DURATION_S,
          reps: REPS,
          drainS: DRAIN_S,
          engines: ENGINES,
          generatorConnections: GEN_CONNECTIONS,
          seed: SEED,
          ...(values.writers ? { outcomeWriters: WRITERS } : {}),
          ...(values.source
            ? {
                sources: SOURCES,
                ...(SOURCES.includes('kafka')
                  ? {
                      kafkaSide:
                        'counter on the CDC chain MariaDB (binlog) → Canal 1.1.4 → Kafka 4.4.0; fresh group at the topic end and truncated counter per run; TF_RECONCILE_GRACE_MS 3600000',
                    }
                  : {}),
              }
            : {}),
          generatorScheduling: scheduling,
          generatorTimerEarlyMs: TIMER_EARLY_MS,
          pollIntervalMs: Number(POLL_INTERVAL_MS),
          clockTicks: clockTicks(),
          baselineDuties: 'coordinator role + fence, fenced cursor, watermarks, reconciler',
          cpuTotal: 'settler + mariadbd + redis-server + simulator (generator reported apart)',
        },
      })}\n`,
    );
  }
}

/** --source: the engine per intake source side by side, one line per source under each rate. */
function printBySource(runs: Run[], out: (s: string) => void): void {
  const c = (v: Ms, w = 7, d = 1) => show(v, d).padStart(w);
  out(
    `\nengine by intake source, medians of ${REPS} repetition(s): end-to-end ms (scheduled arrival → DONE), throughput orders/s, intake ms (intake_ms − counter_created_ms), CPU ms per order, orders by settlement_order.source`,
  );
  out(
    `down  rate source |     thr     p50     p90     p99   p99.9     max | intake p50     p99 | cpu engine   kafka   canal counterdb     all | by source`,
  );
  for (const r of runs) {
    for (const [source, f] of Object.entries(r.engineBySource ?? {}) as [Source, Figures][]) {
      const cpu = f.cpuMsPerOrder;
      const chainCpu = (p: ChainProc, w: number) => (p in cpu ? c(cpu[p] ?? null, w, 3) : '-'.padStart(w));
      out(
        `${`${r.downstreamMs}ms`.padStart(4)} ${String(r.rate).padStart(5)} ${source.padEnd(6)} | ${c(f.throughput)} ${c(f.p50)} ${c(f.p90)} ${c(f.p99)} ${c(f.p99_9)} ${c(f.max)}` +
          ` |    ${c(f.intake.p50)} ${c(f.intake.p99)} | ${c(cpu.settler, 10, 3)} ${chainCpu('kafka', 7)} ${chainCpu('canal', 7)} ${chainCpu('counterdb', 9)} ${c(cpu.total, 7, 3)}` +
          ` | ${Object.entries(f.bySource)
            .map(([k, n]) => `${k} ${n}`)
            .join(
              ', ',
            )}${f.unfinished ? `; ${f.unfinished} unfinished` : ''}${f.stray ? `; ${f.stray} STRAY` : ''}${f.valid ? '' : ' INVALID'}`,
      );
    }
    const p = r.engineBySource?.poll;
    const k = r.engineBySource?.kafka;
    if (p && k) {
      const ratio = (a: Ms, b: Ms) => (a === null || b === null ? '-' : (b / Math.max(a, 0.001)).toFixed(2));
      out(
        `${' '.repeat(11)} kafka/poll: p50 ${ratio(p.p50, k.p50)}× p99 ${ratio(p.p99, k.p99)}× intake p50 ${ratio(p.intake.p50, k.intake.p50)}× (+${show(
          k.intake.p50 === null || p.intake.p50 === null ? null : k.intake.p50 - p.intake.p50,
        )} ms), cpu all ${ratio(p.cpuMsPerOrder.total, k.cpuMsPerOrder.total)}×`,
      );
    }
  }
}

function printTable(
  runs: Run[],
  engineMax: number,
  baselineMax: number | null,
  targets: Target[],
  engineMaxByWriters?: Record<string, number>,
): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const c = (v: Ms, w = 7) => show(v).padStart(w);
  const range = (s: Spread) => `${show(s.min)}–${show(s.max)}`.padStart(13);
  const side = (f?: Figures) =>
    f
      ? `${c(f.throughput)} ${c(f.p50)} ${c(f.p99)} ${range(f.spread.p99)} ${c(f.p99_9)} ${c(f.max)}${f.unfinished ? ` ${f.unfinished}u` : ''}${f.valid ? '' : ' INVALID'}`
      : ' '.repeat(52);
  out(
    `\nend-to-end latency in ms (scheduled arrival → DONE), medians of ${REPS} repetition(s), p99 min–max; throughput orders/s`,
  );
  // with --writers one row per value, headed by a writers column (the baseline on the first)
  const w = values.writers || values.source ? 7 : 0;
  const head = (r: Run, writers: string) =>
    `${`${r.downstreamMs}ms`.padStart(4)} ${String(r.rate).padStart(5)}${w ? ` ${writers}`.padEnd(w) : ''}`;
  out(
    `down  rate${w ? (values.writers ? ' w' : ' source').padEnd(w) : ''} | engine:  thr     p50     p99   p99 min–max   p99.9     max | baseline: thr     p50     p99   p99 min–max   p99.9     max | e/b p99`,
  );
  for (const r of runs) {
    engineVariants(r).forEach(([writers, f], i) => {
      const ratio =
        r.baseline && f.p99 !== null && r.baseline.p99 !== null
          ? (f.p99 / Math.max(r.baseline.p99, 0.001)).toFixed(2)
          : '-';
      out(`${head(r, writers)} | ${side(f)} | ${side(i === 0 ? r.baseline : undefined)} | ${ratio}`);
    });
  }
  if (runs.some((r) => r.engineBySource)) printBySource(runs, out);
  out('\nengine per-stage latency, ms (p50 / p99, medians over repetitions)');
  for (const r of runs) {
    for (const [writers, f] of engineVariants(r)) {
      out(
        `${head(r, writers)} | ${Object.entries(f.stages ?? {})
          .map(([k, x]) => `${k} ${show(x.p50 ?? null)}/${show(x.p99 ?? null)}`)
          .join(' · ')}`,
      );
    }
  }
  out(
    '\ngenerator (this process): lag p99 (issue − schedule; valid if ≤ 1 ms) and event-loop delay p99, ms, medians; its scheduling',
  );
  for (const r of runs) {
    const all = [
      ...engineVariants(r).map(([x, f]) => [`engine ${x}`, f] as const),
      ['baseline', r.baseline] as const,
    ];
    for (const [name, f] of all) {
      if (!f) continue;
      out(
        `${`${r.downstreamMs}ms`.padStart(4)} ${String(r.rate).padStart(5)} ${(w ? name : name.replace(/ default$/, '')).padEnd(w ? 14 : 8)} | lag ${show(f.generatorLagP99.median, 2)} event-loop ${show(f.generatorEventLoopDelayP99Ms.median, 1)}${f.valid ? '' : ' INVALID'} | ${f.reps[0]?.scheduling.generator ?? '?'}`,
      );
    }
  }
  out(
    '\nper order: CPU ms by process (settler = engine or baseline; all = without generator), Redis commands, MySQL counters',
  );
  for (const r of runs) {
    for (const [name, f] of [
      ...engineVariants(r).map(([x, f]) => [w ? `engine ${x}` : 'engine', f] as const),
      ['baseline', r.baseline] as const,
    ]) {
      if (!f) continue;
      const cpu = [...PROCESSES, ...CHAIN_PROCESSES, 'total' as const]
        .filter((p) => p in f.cpuMsPerOrder)
        .map((p) => `${p === 'total' ? 'all' : p} ${show(f.cpuMsPerOrder[p] ?? null, 3)}`)
        .join(' ');
      const my = Object.entries(f.mysqlPerOrder)
        .map(([k, v]) => `${k} ${show(v as Ms, 2)}`)
        .join(' ');
      out(
        `${`${r.downstreamMs}ms`.padStart(4)} ${String(r.rate).padStart(5)} ${name.padEnd(w ? 14 : 8)} | ${cpu} | redis ${show(f.redisCommandsPerOrder, 1)} | ${my}`,
      );
    }
  }
  out(
    `\nhighest sustained rate (downstream 0 ms; throughput ≥ 95% of rate, p99 < 100 ms, none unfinished): engine ${engineMax}/s` +
      `${
        engineMaxByWriters
          ? ` (${Object.entries(engineMaxByWriters)
              .map(([x, m]) => `w=${x} ${m}/s`)
              .join(', ')})`
          : ''
      }, baseline ${baselineMax ?? '-'}/s`,
  );
  out('targets (issue 13 §3):');
  for (const t of targets) out(`  [${t.status}] ${t.target}${t.detail ? ` — ${t.detail}` : ''}`);
  const invalid = runs.flatMap((r) => [
    ...engineVariants(r).flatMap(([, f]) => f.invalidReasons),
    ...(r.baseline?.invalidReasons ?? []),
  ]);
  if (invalid.length > 0) out(`INVALID runs (generator lag): ${invalid.length}`);
}

/** Rows at the first rate through binlog, Canal and Kafka, for their JIT (--chain-warmup). */
async function warmChain(c: BenchChain): Promise<void> {
  const rate = RATES[0] ?? 200;
  say(`bench:settle: warming the chain: ${CHAIN_WARMUP_S} s of rows at ${rate}/s`);
  const pool = createPool(c.counterUrl, c.counterDb, { connections: GEN_CONNECTIONS });
  try {
    const random = seededRandom(SEED);
    const offsets = poissonArrivals(rate, CHAIN_WARMUP_S * 1000, random);
    const rows = makeCounterRows(offsets.length, { flow: 'mixed', shards: 16, runId: 'chainwarm' }, random);
    const t0 = preciseNow() + 100;
    await writeOpenLoop(
      pool,
      rows,
      offsets.map((o) => t0 + o),
      GEN_CONNECTIONS,
    );
  } finally {
    await pool.end();
  }
}

/** Stops what runs now (engines, baseline, simulator) and the CDC chain. */
async function stopAll(): Promise<void> {
  await Promise.all([...live].map(stop));
  await chain?.stop();
  chain = undefined;
}

// Ctrl-C or a kill: nothing of the run is left behind (children spawned meanwhile are stopped by track)
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    interrupted = true;
    say(`bench:settle: ${sig}: stopping the run's processes${chain ? ' and the CDC chain' : ''}`);
    void stopAll().finally(() => process.exit(130));
  });

main()
  .then(async () => {
    await stopAll();
    shared.redis.disconnect();
    await shared.mysql.end();
  })
  .catch(async (err) => {
    process.stderr.write(`${err.stack}\n`);
    await stopAll().catch((e) => process.stderr.write(`bench:settle: stopping failed: ${e}\n`));
    process.exit(1);
  });
