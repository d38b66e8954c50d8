import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { createCounterListing } from '../clients/counter-listing.js';
import type { Downstream } from '../clients/downstream.js';
import { createDownstream } from '../clients/downstream.js';
import type { Config } from '../config.js';
import { type KafkaSourceState, startKafkaConsumer } from '../infra/kafka.js';
import type { Logger } from '../infra/log.js';
import { scrape } from '../infra/metrics.js';
import { createPool } from '../infra/mysql/client.js';
import { dependenciesNotReady, startOpsServer } from '../infra/ops-server.js';
import { createRedis, scanKeys } from '../infra/redis.js';
import { Coordinator } from '../roles/coordinator.js';
import { Fence, FencedError, type FencedWrite } from '../roles/fence.js';
import { ConsumerJanitor } from './coordinator/consumer-janitor.js';
import { DutyRunner } from './coordinator/duties.js';
import { RecoveryScan } from './coordinator/recovery.js';
import { StreamTrim } from './coordinator/stream-trim.js';
import { retryDelayMs } from './domain/errors.js';
import { STEPS, type StepCall, type StepResult } from './domain/flows.js';
import { decoderFor } from './intake/decode/decoder.js';
import { Intake } from './intake/intake.js';
import { IntakePoller, pollerOptions } from './intake/intake-poller.js';
import { KafkaIntake } from './intake/kafka-intake.js';
import { Reconciler } from './intake/reconciler.js';
import { Watermarks } from './intake/watermarks.js';
import { SettlementMetrics } from './ops/metrics.js';
import { ParkedQueue } from './ops/parked-queue.js';
import { OutcomeWriter } from './steps/outcome-writer.js';
import { redrive } from './steps/redrive.js';
import { RetryQueue } from './steps/retry-queue.js';
import { StepWorker } from './steps/step-worker.js';

const PRESENCE_TTL_MS = 15_000;
const PARKED_SYNC_MS = 2000;
const FENCE_HOLD_MIN_MS = 5000;
const KAFKA_RECONNECT_MIN_MS = 500;

const kafkaNote = (s: KafkaSourceState): string =>
  s.up ? 'kafka source: up' : `kafka source: down (${s.detail.replace(/\s+/g, ' ')})`;

/** Set while an engine process runs (refreshed; it expires if the process dies). */
export const presenceKey = (prefix: string, consumer: string): string => `${prefix}:engine:${consumer}`;

/** Consumer names of the engine processes running under `prefix` (their presence keys). */
export async function runningEngines(redis: Redis, prefix: string): Promise<string[]> {
  const head = presenceKey(prefix, '');
  return (await scanKeys(redis, `${head}*`)).map((k) => k.slice(head.length));
}

export interface SettlementEngine {
  /** Stops intake, drains in-flight steps for at most `deadlineMs`, closes connections. */
  stop(deadlineMs: number): Promise<void>;
}

/** Runs a step's call on the downstream service it names. */
export function executor(d: Downstream): (call: StepCall) => Promise<StepResult> {
  return (call) => {
    switch (call.kind) {
      case 'counterSwap':
        return d.counterSwap(call.req).then(() => ({}));
      case 'fundingTransfer':
        return d.fundingTransfer(call.req);
      case 'tradeMarket':
        return d.tradeMarket(call.req);
    }
  };
}

/**
 * The settlement engine, wired in the order an order travels:
 *   counter table ─(1 intake)─▶ settlement_order + stream settle:1 ─(2 step workers)─▶ … settle:4 ─▶ DONE
 * with (3) retries waiting in BullMQ and (4) the coordinator, one process at a time, polling,
 * reconciling, redriving from MySQL what went quiet, trimming, and listing parked orders.
 */
export async function startSettlementEngine(config: Config, log: Logger): Promise<SettlementEngine> {
  const prefix = config.redisPrefix;
  const consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const redis = createRedis(config.redisUrl, { name: `tf-${consumer}` });
  const enginePool = createPool(config.mysqlUrl, config.engineDb, { connections: 8 });
  const writerPool = createPool(config.mysqlUrl, config.engineDb, {
    connections: 8,
    multipleStatements: true,
  });
  const counterPool = createPool(config.mysqlUrl, config.counterDb, { connections: 2 });
  const downstream = createDownstream({
    counterUrl: config.counterUrl,
    fundingUrl: config.fundingUrl,
    tradeUrl: config.tradeUrl,
    timeoutMs: config.httpTimeoutMs,
    connections: config.httpConnections,
  });

  const metrics = new SettlementMetrics(redis, enginePool, prefix);

  // 3. Retries: due retries go back into their step's stream.
  const retries = new RetryQueue(config.redisUrl, prefix, log);
  retries.startWorker((m) => redrive(redis, prefix, m));
  // 3b. Parked (MANUAL) orders as jobs, for Bull Board: parks new ones, carries out board retries.
  const parked = new ParkedQueue(config.redisUrl, prefix, enginePool, redis, log);
  parked.startWorker();

  // 2. Step workers, one per step; outcomes reach MySQL through one batching writer.
  const writer = new OutcomeWriter(writerPool, { maxBatch: 256, maxInFlight: config.outcomeWriters });
  const blocking = STEPS.map((step) =>
    createRedis(config.redisUrl, { blocking: true, name: `tf-${consumer}-s${step}` }),
  );
  const workers = STEPS.map(
    (step, i) =>
      new StepWorker(
        {
          prefix,
          step,
          consumer,
          concurrency: config.stepConcurrency,
          claimIdleMs: config.claimIdleMs,
          claimIntervalMs: config.claimIntervalMs,
          maxAttempts: config.retryMaxAttempts,
          retryBaseMs: config.retryBaseMs,
          retryMaxMs: config.retryMaxMs,
          handoffMarkerMs: 2 * Math.max(config.claimIdleMs, config.recoveryIdleMs, config.retryMaxMs),
        },
        {
          redis,
          blocking: blocking[i] as (typeof blocking)[number],
          writer,
          execute: executor(downstream),
          scheduleRetry: (m, delay) => retries.schedule(m, delay),
          observe: (outcome, t0) => metrics.recorded(outcome, t0),
          log,
        },
      ),
  );
  await Promise.all(workers.map((w) => w.start()));

  // 1. Intake: Kafka brings the counter's change messages to every process (partitions are
  // shared); the poller, if configured, runs in the coordinator (4).
  const watermarks = new Watermarks(redis, prefix, config.maxClockSkewMs);
  const intake = new Intake(enginePool, redis, prefix, {
    watermarks,
    observe: (source, n) => metrics.tookIn(source, n),
    maxSkewMs: config.maxClockSkewMs,
    observeSkew: (source, skewMs, rejected) => {
      metrics.sawSkew(source, skewMs, rejected);
      if (rejected > 0)
        log.warn({ source, rejected, skewMs }, 'counter rows dated beyond the clock skew rejected');
    },
  });
  const kafkaIntake = new KafkaIntake(
    intake,
    decoderFor(config.cdcFormat, config),
    redis,
    { prefix, maxLag: config.kafkaMaxLag, pauseMs: 1000, maxBytes: config.cdcMaxBytes },
    log,
  );
  // Kafka connects in the background and keeps trying while no broker answers; the
  // reconciler (4) covers what it does not bring meanwhile
  const kafka =
    config.source === 'poll' || config.source === 'none'
      ? null
      : startKafkaConsumer(
          {
            brokers: config.kafkaBrokers.split(','),
            groupId: config.kafkaGroup,
            topic: config.kafkaTopic,
            clientId: consumer,
            backoffMs: (failures) =>
              retryDelayMs(failures, KAFKA_RECONNECT_MIN_MS, config.kafkaReconnectMaxMs, Math.random),
          },
          (payload, committer) => kafkaIntake.handleBatch(payload, committer),
          log,
        );
  if (kafka) metrics.kafkaSource(() => kafka.state().up);

  // 4. The coordinator role, held by one process at a time: the poller and the duties below
  // (reconciler, recovery scan, consumer sweep, stream trimming, parked jobs), writes fenced.
  const listing = createCounterListing(config.counterUrl, { timeoutMs: config.httpTimeoutMs });
  const reconciler = new Reconciler(
    listing,
    enginePool,
    intake,
    watermarks,
    {
      shards: config.shards,
      intervalMs: config.reconcileIntervalMs,
      windowMs: config.reconcileWindowMs,
      graceMs: config.reconcileGraceMs,
    },
    log,
    (lateMs) => metrics.foundLate(lateMs),
  );
  // unfinished orders idle too long are redriven from MySQL
  const recovery = new RecoveryScan(
    enginePool,
    redis,
    { prefix, idleMs: config.recoveryIdleMs, intervalMs: config.recoveryIntervalMs },
    log,
  );
  // consumers that gone processes left in the groups are removed (presence: 5)
  const janitor = new ConsumerJanitor(
    redis,
    {
      prefix,
      idleMs: config.claimIdleMs,
      intervalMs: config.recoveryIntervalMs,
      isPresent: async (name) => (await redis.exists(presenceKey(prefix, name))) === 1,
    },
    log,
  );
  // a paused holder's session goes after this long; duties doing Redis work inside their
  // fenced transaction (parked jobs, trimming) must fit in it
  const fence = new Fence(enginePool, 'settlement', Math.max(config.coordinatorTtlMs, FENCE_HOLD_MIN_MS));
  const duties = new DutyRunner(
    enginePool,
    fence,
    consumer,
    [
      reconciler,
      recovery,
      janitor,
      new StreamTrim(redis, prefix, config.trimIntervalMs),
      // parked orders become board jobs (and retried ones leave the board)
      {
        name: 'parked',
        intervalMs: PARKED_SYNC_MS,
        run: async (write) => {
          await write(async () => {
            const { added, removed } = await parked.sync();
            return added + removed;
          });
        },
      },
    ],
    (token) => coordinator.fenced(token),
    log,
  );
  const fenced =
    (token: number) =>
    async <T>(write: FencedWrite<T>): Promise<T> => {
      try {
        return await fence.run(token, write);
      } catch (err) {
        if (err instanceof FencedError) coordinator.fenced(token);
        throw err;
      }
    };
  let poller: IntakePoller | null = null;
  const coordinator = new Coordinator(
    redis,
    fence,
    { prefix, role: 'coordinator', ttlMs: config.coordinatorTtlMs, holder: consumer },
    {
      acquired: (token) => {
        metrics.holding(token);
        if (config.source === 'poll' || config.source === 'both') {
          poller = new IntakePoller(
            counterPool,
            enginePool,
            intake,
            pollerOptions(config),
            log,
            fenced(token),
          );
          poller.start();
        }
        duties.start(token);
      },
      yield: () => {
        metrics.holding(null);
        const stopping = Promise.all([poller?.stop(), duties.yield()]);
        poller = null;
        return stopping;
      },
    },
    log,
  );
  coordinator.start();

  // 5. Presence: a key per running engine, refreshed, so operators and the demo can see who runs
  const presence = presenceKey(prefix, consumer);
  const beat = () => redis.set(presence, String(Date.now()), 'PX', PRESENCE_TTL_MS);
  await beat();
  const heartbeat = setInterval(() => beat().catch(() => undefined), PRESENCE_TTL_MS / 3);

  // 6. Operator endpoints: /metrics, /healthz, /readyz
  const ops =
    config.opsPort === 0
      ? null
      : await startOpsServer(config.opsHost, config.opsPort, {
          metrics: () => scrape(metrics.registry),
          notReady: () => dependenciesNotReady(redis, enginePool),
          // not a reason to be unready: without Kafka the reconciler still takes orders in
          notes: () => (kafka ? [kafkaNote(kafka.state())] : []),
        });
  log.info({ consumer, concurrency: config.stepConcurrency, ops: ops?.port }, 'settlement engine started');

  return {
    async stop(deadlineMs) {
      clearInterval(heartbeat);
      ops?.close();
      await kafka?.stop();
      // the role goes first (its work stopped, then the lock), so another process takes it
      // up while this one drains
      await coordinator.stop(deadlineMs);
      const left = await Promise.all(workers.map((w) => w.stop(deadlineMs)));
      await retries.close();
      await parked.close();
      const unfinished = left.reduce((a, b) => a + b, 0);
      if (unfinished > 0)
        log.warn({ unfinished }, 'drain deadline passed; unfinished steps stay pending for a claim');
      await redis.del(presence).catch(() => undefined);
      await Promise.allSettled([
        enginePool.end(),
        writerPool.end(),
        counterPool.end(),
        downstream.close(),
        listing.close(),
      ]);
      for (const r of [redis, ...blocking]) r.disconnect();
      log.info({ consumer }, 'settlement engine stopped');
    },
  };
}
