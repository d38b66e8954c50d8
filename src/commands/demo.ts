import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { RowDataPacket } from 'mysql2/promise';
import type { Run } from '../cli.js';
import { createSimAdmin } from '../clients/sim-admin.js';
import { stableGroupMembers, withKafkaAdmin } from '../infra/kafka.js';
import { createPool } from '../infra/mysql/client.js';
import { percentiles } from '../infra/percentiles.js';
import { createRedis } from '../infra/redis.js';
import { type CounterOrderRow, makeCounterRows } from '../load/counter-orders.js';
import { writeCounterRows } from '../load/write-rows.js';
import { SWAP_BIZ_TYPE } from '../settlement/domain/order.js';
import { ledgerCheck } from '../settlement/ops/ledger-report.js';
import { runningEngines } from '../settlement/steps/presence.js';
import { spawnTradeflow, stopChild } from './children.js';
import { copyDemo } from './demo-copy.js';
import { forgetProductRuns, productDemo } from './demo-product.js';

/**
 * A real run, end to end: simulator and engine as child processes, a few hundred mixed
 * orders written into the counter table (with some rows that are not ours and a little
 * downstream trouble), then what happened to them, from MySQL and the simulator's ledger.
 */
export const run: Run = async (args, { config, log }) => {
  const { values } = parseArgs({
    args,
    options: {
      orders: { type: 'string', default: '300' },
      rate: { type: 'string', default: '150' },
      // demo:kafka: the settlement story only, through binlog, Canal and Kafka
      'settlement-only': { type: 'boolean', default: false },
    },
  });
  const n = Number(values.orders);
  const rate = Number(values.rate);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const engineDb = createPool(config.mysqlUrl, config.engineDb, { connections: 2 });
  const counterDb = createPool(config.counterMysqlUrl, config.counterDb, { connections: 2 });
  // children log warnings only, unless asked otherwise: the demo's own lines tell the story
  // and retry after 50 ms rather than 200, so the retried orders finish within the demo's pace
  const childEnv = {
    ...process.env,
    TF_LOG_LEVEL: process.env.TF_LOG_LEVEL ?? 'warn',
    TF_RETRY_BASE_MS: process.env.TF_RETRY_BASE_MS ?? '50',
  };
  const sim = spawnTradeflow(['sim'], childEnv);
  const admin = createSimAdmin(config.counterUrl);
  let engine: ReturnType<typeof spawnTradeflow> | null = null;
  try {
    await until(() => admin.getFaults().then(() => true), 15_000, 'the simulator to listen');
    // a little trouble, so the run shows retries: 3% retryable errors, 1-3 ms latency
    await admin.setFaults({ '*': { latencyMs: 1, jitterMs: 2, errorRate: 0.03 } });
    say(`simulator up on ${config.counterUrl}; 3% retryable faults, 1-3 ms latency on every call`);
    engine = spawnTradeflow(['start'], {
      ...childEnv,
      TF_POLL_INTERVAL_MS: process.env.TF_POLL_INTERVAL_MS ?? '20',
    });
    await until(
      () => engineReading(config.redisUrl, config.redisPrefix),
      30_000,
      'the engine to read its streams',
    );
    if (config.source === 'kafka' || config.source === 'both') {
      // rows written before the intake is in its group would only show how long a join takes
      await withKafkaAdmin(config.kafkaBrokers.split(','), (kafka) =>
        until(
          async () => ((await stableGroupMembers(kafka, config.kafkaGroup)) > 0 ? true : undefined),
          60_000,
          'the Kafka intake to join its group',
        ),
      );
      say(`Kafka intake in its group ${config.kafkaGroup} on ${config.kafkaTopic}`);
    }

    const runId = `demo${randomBytes(3).toString('hex')}`;
    const rows = makeCounterRows(n, { flow: 'mixed', shards: config.shards, otherBizRate: 0.05, runId });
    const swaps = rows.filter((r) => r.bizType === SWAP_BIZ_TYPE).length;
    say(
      `writing ${rows.length} counter rows at ${rate}/s (${swaps} option swaps, ${rows.length - swaps} other rows to ignore)`,
    );
    const started = Date.now();
    // one malformed row among them: intake must record it as rejected and go on
    const bad = {
      ...rows[0],
      orderId: `${runId}-bad`,
      bizType: SWAP_BIZ_TYPE,
      asset: 'DOGE',
    } as CounterOrderRow;
    await writeCounterRows(counterDb, [...rows.slice(0, n / 2), bad, ...rows.slice(n / 2)], rate);

    const finished = await until(
      async () => {
        const [r] = await engineDb.query<RowDataPacket[]>(
          "SELECT SUM(status='DONE') AS done, SUM(status='MANUAL') AS manual, COUNT(*) AS total FROM settlement_order WHERE order_id LIKE ?",
          [`${runId}-%`],
        );
        const c = r[0] as RowDataPacket;
        return Number(c.total) === swaps && Number(c.done) + Number(c.manual) === swaps ? c : undefined;
      },
      120_000,
      'every order to finish',
    );
    say(
      `all ${swaps} orders finished in ${Date.now() - started} ms: DONE ${finished.done}, MANUAL ${finished.manual}`,
    );
    const [rejected] = await engineDb.query<RowDataPacket[]>(
      'SELECT order_id, reason FROM intake_rejection WHERE order_id LIKE ?',
      [`${runId}-%`],
    );
    for (const r of rejected) say(`rejected at intake: ${r.order_id}: ${r.reason}`);

    const [steps] = await engineDb.query<RowDataPacket[]>(
      'SELECT step, status, latency_ms FROM settlement_step WHERE order_id LIKE ?',
      [`${runId}-%`],
    );
    const [ends] = await engineDb.query<RowDataPacket[]>(
      "SELECT done_ms - counter_created_ms AS e2e FROM settlement_order WHERE status='DONE' AND order_id LIKE ?",
      [`${runId}-%`],
    );
    say('\nlatency (ms)      count     p50     p99     max');
    for (const step of [1, 2, 3, 4]) {
      const p = percentiles(
        steps.filter((s) => s.step === step && s.status === 'OK').map((s) => Number(s.latency_ms)),
      );
      say(`  step ${step} call     ${row(p)}`);
    }
    say(`  end to end      ${row(percentiles(ends.map((e) => Number(e.e2e))))}`);
    // counter commit → order row and first step's stream entry, by the source that brought it
    const [intakes] = await engineDb.query<RowDataPacket[]>(
      'SELECT source, intake_ms - counter_created_ms AS ms FROM settlement_order WHERE order_id LIKE ?',
      [`${runId}-%`],
    );
    for (const source of [...new Set(intakes.map((i) => String(i.source)))].sort()) {
      const p = percentiles(intakes.filter((i) => i.source === source).map((i) => Number(i.ms)));
      say(`  intake (${source})${' '.repeat(Math.max(1, 8 - source.length))}${row(p)}`);
    }
    const retries = steps.filter((s) => s.status === 'RETRY').length;
    say(
      `retried attempts: ${retries} (each waited out its backoff in BullMQ, then ran again with the same key)`,
    );

    const check = await ledgerCheck(config.counterUrl, engineDb, `${runId}-`);
    say(`\nledger check: ${JSON.stringify(check)}`);
    const settled = check.ok && Number(finished.manual) === 0 && rejected.length === 1;
    await stopChild(engine);
    engine = null;

    if (values['settlement-only']) {
      say(
        settled
          ? '\ndemo OK: every order settled, each step applied exactly once, money conserved'
          : '\ndemo FAILED',
      );
      return settled ? 0 : 1;
    }
    await admin.setFaults({});
    const redis = createRedis(config.redisUrl);
    await forgetProductRuns(engineDb, redis, config.redisPrefix).finally(() => redis.disconnect());
    const copied = await copyDemo({ config, engineDb, childEnv, say, until });
    const product = await productDemo({ config, engineDb, childEnv, say, until });
    const ok = settled && copied && product;
    say(
      ok
        ? '\ndemo OK: every order settled, each step applied exactly once, money conserved; ' +
            'every copier copied or skipped with its reason, nothing placed twice, all flat again; ' +
            'leads applied and were reviewed, copiers chose them from the leaderboard, and every pair settled its profit share to the cent'
        : `\ndemo FAILED (settlement ${settled ? 'ok' : 'failed'}, copy trading ${copied ? 'ok' : 'failed'}, product ${product ? 'ok' : 'failed'})`,
    );
    return ok ? 0 : 1;
  } finally {
    if (engine) await stopChild(engine);
    await stopChild(sim);
    await admin.close();
    await engineDb.end();
    await counterDb.end();
    log.debug('demo finished');
  }
};

const row = (p: ReturnType<typeof percentiles>) =>
  `${String(p.count).padStart(5)} ${p.p50.toFixed(1).padStart(7)} ${p.p99.toFixed(1).padStart(7)} ${p.max.toFixed(1).padStart(7)}`;

/** True once an engine process has started all its workers (it keeps a presence key). */
async function engineReading(redisUrl: string, prefix: string): Promise<true | undefined> {
  const redis = createRedis(redisUrl);
  try {
    return (await runningEngines(redis, prefix)).length > 0 ? true : undefined;
  } finally {
    redis.disconnect();
  }
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
