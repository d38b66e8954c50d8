import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { RowDataPacket } from 'mysql2/promise';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import { connectRedis, type RedisConnection } from '../../infra/redis.js';
import { bullPrefix } from '../steps/retry-queue.js';
import { type RetryResult, retryManual } from './order-store.js';

export const PARKED_QUEUE = 'settle-parked';

/** One parking of an order: MANUAL at this step and attempt, for this reason. */
export interface ParkedJob {
  orderId: string;
  step: number;
  attempt: number;
  errorCode: string | null;
  errorMessage: string | null;
}

// BullMQ refuses ':' in job ids; order ids may hold one
export const parkedJobId = (j: Pick<ParkedJob, 'orderId' | 'step' | 'attempt'>): string =>
  `${encodeURIComponent(j.orderId)}|${j.step}|${j.attempt}`;

export const parkReason = (j: ParkedJob): string => `${j.errorCode ?? 'UNKNOWN'}: ${j.errorMessage ?? ''}`;

const isParkedJob = (d: unknown): d is ParkedJob => {
  const j = d as Partial<ParkedJob> | null;
  return typeof j?.orderId === 'string' && Number.isInteger(j.step) && Number.isInteger(j.attempt);
};

const SYNC_BATCH = 1000;

/** A sync's work: parkings that have no job yet, and ids of failed jobs whose parking is over. */
export interface SyncPlan {
  add: ParkedJob[];
  remove: string[];
}

/**
 * Parked (MANUAL) orders as BullMQ jobs, so that Bull Board can list them with their reason
 * and an operator can retry them there. MySQL stays the truth: `sync` makes the queue follow
 * it, one job per parking (order, step, attempt).
 *
 * A job's first run fails it at once with the park reason, which puts it in the board's
 * "failed" list. A board retry (Job.retry) keeps `attemptsMade` (BullMQ 5 resets it only
 * when asked, and Bull Board does not ask), so a run with `attemptsMade > 0` is an
 * operator's retry: it calls `retryManual`, as `tradeflow retry` does, limited to that
 * step and attempt. A stalled first run is re-run with `attemptsMade` still 0 and parks again.
 */
export class ParkedQueue {
  readonly queue: Queue<ParkedJob, RetryResult>;
  private readonly connection: RedisConnection;
  private worker: Worker<ParkedJob, RetryResult> | null = null;
  private workerConnection: RedisConnection | null = null;
  // sync walks MANUAL orders and failed jobs in slices, so that a backlog is covered over calls
  private orderCursor = { updatedMs: -1, orderId: '' };
  private failedOffset = 0;

  constructor(
    redisUrl: string,
    private readonly prefix: string,
    private readonly pool: Pool,
    private readonly redis: RedisClient,
    private readonly log: Logger,
    private readonly batch = SYNC_BATCH,
  ) {
    // BullMQ blocks on its connection and needs maxRetriesPerRequest null
    this.connection = connectRedis(redisUrl, { maxRetriesPerRequest: null });
    this.queue = new Queue(PARKED_QUEUE, { connection: this.connection, prefix: bullPrefix(prefix) });
  }

  /** Starts parking new jobs and carrying out the retries operators ask for. */
  startWorker(concurrency = 4): void {
    this.workerConnection = this.connection.duplicate();
    this.worker = new Worker<ParkedJob, RetryResult>(PARKED_QUEUE, (job) => this.process(job), {
      connection: this.workerConnection,
      prefix: bullPrefix(this.prefix),
      concurrency,
    });
    this.worker.on('error', (err) => this.log.error({ err }, 'parked worker error'));
  }

  private async process(job: Job<ParkedJob, RetryResult>): Promise<RetryResult> {
    const d = job.data;
    if (!isParkedJob(d)) throw new UnrecoverableError(`job ${job.id} is not a parked order`);
    if (job.attemptsMade === 0) {
      const park = new UnrecoverableError(parkReason(d));
      // the board shows the stack; the reason is what an operator needs, not this file's frames
      park.stack = `${park.name}: ${park.message}`;
      throw park;
    }
    // a parking already retried elsewhere completes with the reason instead of failing again
    const result = await retryManual(this.pool, this.redis, this.prefix, d.orderId, {
      step: d.step,
      attempt: d.attempt,
    });
    this.log.info({ orderId: d.orderId, step: d.step, attempt: d.attempt, result }, 'parked order retried');
    return result;
  }

  /**
   * Brings the queue in line with MySQL: a job for each MANUAL order that has none, and no
   * failed job for a parking that is over (retried by the CLI or a script). Idempotent, so
   * several processes may run it; each call looks at most `batch` orders and `batch` jobs.
   */
  async sync(): Promise<{ added: number; removed: number }> {
    return this.apply(await this.plan());
  }

  /** What a sync would do, from reads only (MySQL and Redis); `apply` does it. */
  async plan(): Promise<SyncPlan> {
    return { add: await this.missing(), remove: await this.stale() };
  }

  /** Adds and removes the jobs of `plan`; a job changed since is left as it is. */
  async apply(plan: SyncPlan): Promise<{ added: number; removed: number }> {
    if (plan.add.length > 0) {
      await this.queue.addBulk(
        plan.add.map((j) => ({
          name: j.orderId,
          data: j,
          opts: {
            jobId: parkedJobId(j),
            // a failed job is a parking still open; only sync removes it
            removeOnFail: false,
            removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
          },
        })),
      );
    }
    let removed = 0;
    // 0 when it is running (an operator's retry): that run settles it
    for (const id of plan.remove) removed += await this.queue.remove(id);
    // removals shift the later pages forward: the next pass starts over rather than skip jobs
    if (removed > 0) this.failedOffset = 0;
    return { added: plan.add.length, removed };
  }

  private async missing(): Promise<ParkedJob[]> {
    const c = this.orderCursor;
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT order_id, step, attempt, error_code, error_message, updated_ms FROM settlement_order
        WHERE status='MANUAL' AND (updated_ms > ? OR (updated_ms = ? AND order_id > ?))
        ORDER BY updated_ms, order_id LIMIT ?`,
      [c.updatedMs, c.updatedMs, c.orderId, this.batch],
    );
    const last = rows.at(-1);
    this.orderCursor =
      rows.length < this.batch || !last
        ? { updatedMs: -1, orderId: '' }
        : { updatedMs: Number(last.updated_ms), orderId: last.order_id };
    if (rows.length === 0) return [];
    const jobs: ParkedJob[] = rows.map((r) => ({
      orderId: r.order_id,
      step: Number(r.step),
      attempt: Number(r.attempt),
      errorCode: r.error_code,
      errorMessage: r.error_message,
    }));
    // the job id already dedups, but one EXISTS per order is much cheaper than one add script each
    const pipe = this.connection.pipeline();
    for (const j of jobs) pipe.exists(this.queue.toKey(parkedJobId(j)));
    const exists = (await pipe.exec()) ?? [];
    return jobs.filter((_, i) => exists[i]?.[1] !== 1);
  }

  private async stale(): Promise<string[]> {
    const jobs = (await this.queue.getFailed(this.failedOffset, this.failedOffset + this.batch - 1)).filter(
      Boolean,
    );
    this.failedOffset = jobs.length < this.batch ? 0 : this.failedOffset + this.batch;
    if (jobs.length === 0) return [];
    const ids = [...new Set(jobs.filter((j) => isParkedJob(j.data)).map((j) => j.data.orderId))];
    const open = new Set<string>();
    if (ids.length > 0) {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        "SELECT order_id, step, attempt FROM settlement_order WHERE status='MANUAL' AND order_id IN (?)",
        [ids],
      );
      for (const r of rows) open.add(parkedJobId({ orderId: r.order_id, step: r.step, attempt: r.attempt }));
    }
    const stale: string[] = [];
    for (const j of jobs) {
      if (j.id !== undefined && !(isParkedJob(j.data) && open.has(parkedJobId(j.data)))) stale.push(j.id);
    }
    return stale;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    this.workerConnection?.disconnect();
    this.connection.disconnect();
  }
}
