import type { Downstream } from '../../clients/downstream.js';
import type { SettlementSettings } from '../../config.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { createRedis, type RedisClient } from '../../infra/redis.js';
import { STEPS, type StepCall, type StepResult } from '../domain/flows.js';
import { GROUP } from '../domain/streams.js';
import type { SettlementMetrics } from '../ops/metrics.js';
import type { ParkedQueue } from '../ops/parked-queue.js';
import { Handoffs } from './handoffs.js';
import { OutcomeWriter } from './outcome-writer.js';
import { redrive } from './redrive.js';
import { RetryQueue } from './retry-queue.js';
import { StepWorker } from './step-worker.js';

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

export interface StepsDeps {
  redis: RedisClient;
  writerPool: Pool;
  downstream: Downstream;
  metrics: SettlementMetrics;
  /** its worker carries out the board's retries (a redrive into a step's stream) */
  parked: ParkedQueue;
  consumer: string;
  log: Logger;
}

/**
 * Stages 2 and 3: retries (due ones go back into their step's stream), the parked queue's
 * worker, and the step worker over the four step streams, whose outcomes reach MySQL
 * through one batching writer and whose hand-offs reach Redis in batches. Resolves once the
 * worker runs, with the stop: drains in-flight steps for at most `deadlineMs`, then closes
 * the queues.
 */
export async function startSteps(
  config: SettlementSettings,
  deps: StepsDeps,
): Promise<(deadlineMs: number) => Promise<void>> {
  const { redis, parked, consumer, metrics, log } = deps;
  const prefix = config.redisPrefix;
  // 3. Retries: due retries go back into their step's stream.
  const retries = new RetryQueue(config.redisUrl, prefix, log);
  retries.startWorker((m) => redrive(redis, prefix, m));
  // 3b. Parked (MANUAL) orders as jobs, for Bull Board: parks new ones, carries out board retries.
  parked.startWorker();

  // 2. One step worker over the four step streams; outcomes reach MySQL through one batching
  // writer, hand-offs reach Redis in batches on the hot path's own connection.
  const writer = new OutcomeWriter(deps.writerPool, { maxBatch: 256, maxInFlight: config.outcomeWriters });
  const blocking = createRedis(config.redisUrl, { blocking: true, name: `tf-${consumer}-steps` });
  const hot = createRedis(config.redisUrl, { name: `tf-${consumer}-hot` });
  const handoffs = new Handoffs(hot, {
    group: GROUP,
    markerMs: 2 * Math.max(config.claimIdleMs, config.recoveryIdleMs, config.retryMaxMs),
    observe: (orders) => metrics.handedOn(orders),
  });
  const worker = new StepWorker(
    {
      prefix,
      consumer,
      concurrency: config.stepConcurrency * STEPS.length,
      claimIdleMs: config.claimIdleMs,
      claimIntervalMs: config.claimIntervalMs,
      maxAttempts: config.retryMaxAttempts,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
    },
    {
      redis,
      blocking,
      writer,
      handoffs,
      execute: executor(deps.downstream),
      scheduleRetry: (m, delay) => retries.schedule(m, delay),
      observe: (outcome, t0) => metrics.recorded(outcome, t0),
      log,
    },
  );
  await worker.start();

  return async (deadlineMs) => {
    const unfinished = await worker.stop(deadlineMs);
    await retries.close();
    await parked.close();
    if (unfinished > 0)
      log.warn({ unfinished }, 'drain deadline passed; unfinished steps stay pending for a claim');
    blocking.disconnect();
    hot.disconnect();
  };
}
