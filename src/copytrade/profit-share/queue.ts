import { type Job, Queue, Worker } from 'bullmq';
import type { Logger } from '../../infra/log.js';
import { connectRedis, type RedisConnection } from '../../infra/redis.js';
import { bullPrefix } from '../../settlement/steps/retry-queue.js';
import { type Cycle, cutoffsBetween } from '../domain/profit-share-cycle.js';
import type { PairRef, ProfitShare } from './profit-share.js';

export const PROFIT_SHARE_QUEUE = 'profit-share';
export const CYCLE_SCHEDULER = 'profit-share-cycle';
export const SWEEP_SCHEDULER = 'profit-share-sweep';

/** The cut-off of a cycle as cron, read in UTC: Monday 00:00 (weekly), every 00:00 (daily). */
export const cycleCron = (cycle: Cycle): string => (cycle === 'weekly' ? '0 0 * * 1' : '0 0 * * *');

export type ProfitShareJob =
  | { kind: 'cycle' }
  | { kind: 'sweep' }
  | { kind: 'stop'; copierId: string; traderId: string; atMs: number };

const WEEK_MS = 7 * 86_400_000;

/** The last cut-off at or before `ms`: what a cycle job settles, however late it runs. */
export function lastCutoff(ms: number, cycle: Cycle): number {
  const cutoffs = cutoffsBetween(ms - WEEK_MS, ms, cycle);
  const last = cutoffs[cutoffs.length - 1];
  if (last === undefined) throw new Error(`no ${cycle} cut-off in the week before ${ms}`);
  return last;
}

/**
 * The profit-share jobs in BullMQ (shown on Bull Board beside the settlement queues): the
 * cycle's cut-off (a job scheduler on the cron, UTC), the withholding sweep (a scheduler
 * every `sweepMs`), and one job per stopped follow, which settles that pair. The worker runs
 * one job at a time; what a job does to a pair is safe to repeat (profit-share.ts), so a
 * failed or stalled job is simply run again.
 */
export class ProfitShareQueue {
  readonly queue: Queue<ProfitShareJob>;
  private readonly connection: RedisConnection;
  private worker: Worker<ProfitShareJob> | null = null;
  private workerConnection: RedisConnection | null = null;

  constructor(
    redisUrl: string,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    // BullMQ blocks on its connection and needs maxRetriesPerRequest null
    this.connection = connectRedis(redisUrl, { maxRetriesPerRequest: null });
    this.queue = new Queue(PROFIT_SHARE_QUEUE, { connection: this.connection, prefix: bullPrefix(prefix) });
  }

  /** Registers (or updates) the cycle's and the sweep's schedulers: idempotent, each process may call it. */
  async schedule(cycle: Cycle, sweepMs: number): Promise<void> {
    await this.queue.upsertJobScheduler(
      CYCLE_SCHEDULER,
      { pattern: cycleCron(cycle), tz: 'UTC' },
      {
        name: 'cycle',
        data: { kind: 'cycle' },
        opts: {
          attempts: 10,
          backoff: { type: 'exponential', delay: 5000 },
          removeOnComplete: { count: 100 },
          removeOnFail: { age: 30 * 86_400 },
        },
      },
    );
    await this.queue.upsertJobScheduler(
      SWEEP_SCHEDULER,
      { every: sweepMs },
      {
        name: 'sweep',
        data: { kind: 'sweep' },
        opts: { removeOnComplete: { count: 20 }, removeOnFail: { count: 100 } },
      },
    );
  }

  /** A follow was stopped: its pair is settled by the worker, at once (the request does no funding call). */
  async stopped(pair: PairRef, atMs = Date.now()): Promise<void> {
    await this.queue.add(
      'stop',
      { kind: 'stop', ...pair, atMs },
      {
        // BullMQ refuses ':' in job ids; ids may not hold '|'
        jobId: `stop|${encodeURIComponent(pair.copierId)}|${encodeURIComponent(pair.traderId)}|${atMs}`,
        attempts: 20,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 7 * 86_400 },
        removeOnFail: { age: 30 * 86_400 },
      },
    );
  }

  startWorker(service: ProfitShare): void {
    this.workerConnection = this.connection.duplicate();
    this.worker = new Worker<ProfitShareJob>(PROFIT_SHARE_QUEUE, (job) => this.process(service, job), {
      connection: this.workerConnection,
      prefix: bullPrefix(this.prefix),
      concurrency: 1,
    });
    this.worker.on('error', (err) => this.log.error({ err }, 'profit-share worker error'));
  }

  private async process(service: ProfitShare, job: Job<ProfitShareJob>): Promise<unknown> {
    const data = job.data;
    if (data.kind === 'sweep') return service.sweep();
    if (data.kind === 'stop') {
      const out = await service.stop({ copierId: data.copierId, traderId: data.traderId }, data.atMs);
      if (out.kind === 'busy') throw new Error('the pair is busy; tried again');
      return out;
    }
    const run = await service.settleCycle(lastCutoff(Date.now(), service.cycle));
    this.log.info(run, 'profit share: cycle settled');
    // the pairs that failed are settled by the retry; those done answer 'already'
    if (run.failed.length > 0)
      throw new Error(`${run.failed.length} pairs failed to settle for ${run.period}`);
    return run;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    this.workerConnection?.disconnect();
    this.connection.disconnect();
  }
}
