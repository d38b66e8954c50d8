import type { Downstream } from '../../clients/downstream.js';
import type { SettlementSettings } from '../../config.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { createRedis, type RedisClient } from '../../infra/redis.js';
import { STEPS, type StepCall, type StepResult } from '../domain/flows.js';
import type { SettlementMetrics } from '../ops/metrics.js';
import type { ParkedQueue } from '../ops/parked-queue.js';
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
 * worker, and one step worker per step, whose outcomes reach MySQL through one batching
 * writer. Resolves once every worker runs, with the stop: drains in-flight steps for at
 * most `deadlineMs`, then closes the queues.
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

  // 2. Step workers, one per step; outcomes reach MySQL through one batching writer.
  const writer = new OutcomeWriter(deps.writerPool, { maxBatch: 256, maxInFlight: config.outcomeWriters });
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
          execute: executor(deps.downstream),
          scheduleRetry: (m, delay) => retries.schedule(m, delay),
          observe: (outcome, t0) => metrics.recorded(outcome, t0),
          log,
        },
      ),
  );
  await Promise.all(workers.map((w) => w.start()));

  return async (deadlineMs) => {
    const left = await Promise.all(workers.map((w) => w.stop(deadlineMs)));
    await retries.close();
    await parked.close();
    const unfinished = left.reduce((a, b) => a + b, 0);
    if (unfinished > 0)
      log.warn({ unfinished }, 'drain deadline passed; unfinished steps stay pending for a claim');
    for (const r of blocking) r.disconnect();
  };
}
