/**
 * The baseline of `npm run bench:settle`: the same orders settled the plain way. The same
 * poller takes rows in; each order then runs as one async function: four awaited downstream
 * calls, one MySQL write after each, no streams, no batching, no retries. Run compiled
 * (dist/load/settle-baseline.js) as a child process with the same TF_* settings as the engine.
 *
 * Same duties as the engine where the baseline has a counterpart: it holds the coordinator
 * role (Redlock + fence), saves the poller's cursor fenced, keeps the shards' watermarks and
 * runs the reconciler every TF_RECONCILE_INTERVAL_MS over its own orders. Recovery, consumer
 * sweep, stream trimming and parked jobs tend streams, groups and jobs it does not have.
 */
import { randomBytes } from 'node:crypto';
import { createCounterListing } from '../clients/counter-listing.js';
import { createDownstream } from '../clients/downstream.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../infra/log.js';
import { createPool } from '../infra/mysql/client.js';
import { createRedis } from '../infra/redis.js';
import { Coordinator } from '../roles/coordinator.js';
import { Fence } from '../roles/fence.js';
import { DutyRunner } from '../settlement/coordinator/duties.js';
import { carryAfter, planStep, STEPS } from '../settlement/domain/flows.js';
import type { IntakeOrder } from '../settlement/domain/order.js';
import { Intake, type IntakeSink, type Taken } from '../settlement/intake/intake.js';
import { IntakePoller, pollerOptions } from '../settlement/intake/intake-poller.js';
import { Reconciler } from '../settlement/intake/reconciler.js';
import { Watermarks } from '../settlement/intake/watermarks.js';
import { executor } from '../settlement/steps/start-steps.js';

const config = loadConfig();
const log = createLogger(config.logLevel, 'baseline');
const holder = `baseline-${process.pid}-${randomBytes(3).toString('hex')}`;
const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 32 });
const counterPool = createPool(config.counterMysqlUrl, config.counterDb, { connections: 2 });
const redis = createRedis(config.redisUrl, { name: `tf-${holder}` });
const execute = executor(
  createDownstream({
    counterUrl: config.counterUrl,
    fundingUrl: config.fundingUrl,
    tradeUrl: config.tradeUrl,
    timeoutMs: config.httpTimeoutMs,
    connections: config.httpConnections,
  }),
);
// as many orders in flight as the engine has downstream calls in flight (per step × 4 steps)
const limit = config.stepConcurrency * STEPS.length;
let running = 0;
const waiting: IntakeOrder[] = [];

async function settle(o: IntakeOrder): Promise<void> {
  let carry: string | null = null;
  for (const step of STEPS) {
    const call = planStep(o, step, carry);
    carry = carryAfter(call, await execute(call));
    const done = step === STEPS.length;
    await pool.query(
      'UPDATE settlement_order SET step=?, carry=?, status=?, updated_ms=?, done_ms=? WHERE order_id=?',
      [step, carry, done ? 'DONE' : 'RUNNING', Date.now(), done ? Date.now() : null, o.orderId],
    );
  }
}

function pump(): void {
  while (running < limit && waiting.length > 0) {
    const o = waiting.shift() as IntakeOrder;
    running++;
    settle(o)
      .catch((err) => log.error({ err, orderId: o.orderId }, 'baseline order failed'))
      .finally(() => {
        running--;
        pump();
      });
  }
}

const watermarks = new Watermarks(redis, config.redisPrefix, config.maxClockSkewMs, (err) =>
  log.warn({ err }, 'intake watermark not raised in Redis'),
);
// the engine's intake for its MySQL half and rejections; "enqueue" here is the in-process queue
const intake = new Intake(pool, redis, config.redisPrefix, { watermarks, maxSkewMs: config.maxClockSkewMs });
const enqueue = async ({ orders, fresh }: Taken): Promise<void> => {
  waiting.push(...fresh);
  pump();
  watermarks.observe(orders);
};
const sink: IntakeSink = {
  async takeIn(orders, source) {
    if (orders.length === 0) return 0;
    const taken = await intake.record(orders, source, pool);
    await enqueue(taken);
    return taken.added;
  },
  reject: (rejections, source) => intake.reject(rejections, source),
};

const listing = createCounterListing(config.counterUrl, { timeoutMs: config.httpTimeoutMs });
const reconciler = new Reconciler(
  listing,
  pool,
  { record: (orders, source, db) => intake.record(orders, source, db), enqueue },
  watermarks,
  {
    shards: config.shards,
    intervalMs: config.reconcileIntervalMs,
    windowMs: config.reconcileWindowMs,
    graceMs: config.reconcileGraceMs,
    lagMs: config.reconcileLagMs,
  },
  log,
);
const fence = new Fence(pool, 'settlement', Math.max(config.coordinatorTtlMs, 5000));
const duties = new DutyRunner(pool, fence, holder, [reconciler], (token) => coordinator.fenced(token), log);
let poller: IntakePoller | null = null;
const coordinator = new Coordinator(
  redis,
  fence,
  { prefix: config.redisPrefix, role: 'coordinator', ttlMs: config.coordinatorTtlMs, holder },
  {
    acquired: (token) => {
      poller = new IntakePoller(
        counterPool,
        pool,
        sink,
        pollerOptions(config),
        log,
        fence.writer(token, (t) => coordinator.fenced(t)),
      );
      poller.start();
      duties.start(token);
    },
    yield: () => {
      const stopping = Promise.all([poller?.stop(), duties.yield()]);
      poller = null;
      return stopping;
    },
  },
  log,
);
coordinator.start();
process.once('SIGTERM', async () => {
  await coordinator.stop(5000);
  process.exit(0);
});
