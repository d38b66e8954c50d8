import { Queue, Worker } from 'bullmq';
import type { Logger } from '../../infra/log.js';
import { connectRedis, type RedisConnection } from '../../infra/redis.js';
import { decodeMessage, encodeMessage, type StepMessage } from '../domain/streams.js';

export const RETRY_QUEUE = 'settle-retry';

/**
 * Retries waiting out their backoff: a BullMQ delayed job per (order, step, attempt) whose
 * job id makes a second scheduling of the same retry a no-op. When due, the job puts the
 * step's entry back into the step's stream; the step worker does the rest.
 */
export class RetryQueue {
  private readonly connection: RedisConnection;
  /** Public for Bull Board, which shows it read-only. */
  readonly queue: Queue;
  private worker: Worker | null = null;
  private workerConnection: RedisConnection | null = null;

  constructor(
    redisUrl: string,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    // BullMQ blocks on its connection and needs maxRetriesPerRequest null
    this.connection = connectRedis(redisUrl, { maxRetriesPerRequest: null });
    this.queue = new Queue(RETRY_QUEUE, { connection: this.connection, prefix: bullPrefix(prefix) });
  }

  async schedule(message: StepMessage, delayMs: number): Promise<void> {
    await this.queue.add(
      'retry',
      { fields: encodeMessage(message) },
      {
        // BullMQ refuses ':' in job ids; order ids may hold one
        jobId: `${encodeURIComponent(message.orderId)}|${message.step}|${message.attempt}`,
        delay: delayMs,
        removeOnComplete: { age: 3600, count: 10_000 },
        removeOnFail: { age: 24 * 3600 },
        attempts: 10,
        backoff: { type: 'exponential', delay: 500 },
      },
    );
  }

  /** Starts moving due retries back into their step streams. */
  startWorker(requeue: (message: StepMessage) => Promise<void>, concurrency = 16): void {
    this.workerConnection = this.connection.duplicate();
    this.worker = new Worker(
      RETRY_QUEUE,
      async (job) => {
        const m = decodeMessage(job.data.fields as string[]);
        if ('error' in m) throw new Error(`retry job ${job.id} is malformed: ${m.error}`);
        await requeue(m);
      },
      { connection: this.workerConnection, prefix: bullPrefix(this.prefix), concurrency },
    );
    this.worker.on('error', (err) => this.log.error({ err }, 'retry worker error'));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    this.workerConnection?.disconnect();
    this.connection.disconnect();
  }
}

export const bullPrefix = (prefix: string): string => `${prefix}:bull`;
