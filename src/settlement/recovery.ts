import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { money } from '../domain/money.js';
import type { Logger } from '../infra/log.js';
import type { Pool } from '../infra/mysql/client.js';
import { every } from '../infra/periodic.js';
import type { RedisClient } from '../infra/redis.js';
import type { Step } from './flows.js';
import type { Asset, Flow } from './order.js';
import { encodeMessage, type StepMessage, streamKey } from './streams.js';

/** The stream entry of an order's current step, rebuilt from its MySQL row. */
export function messageFromRow(r: RowDataPacket): StepMessage {
  return {
    orderId: r.order_id,
    userId: r.user_id,
    flow: r.flow as Flow,
    asset: r.asset as Asset,
    // DECIMAL(36,18) comes back zero-padded; the idempotent calls need the same strings as first sent
    qty: money(r.qty).toFixed(),
    usdt: money(r.usdt).toFixed(),
    step: Number(r.step) as Step,
    attempt: Number(r.attempt),
    // the row does not keep where the budget began: a re-driven step gets a fresh one
    firstAttempt: Number(r.attempt),
    carry: r.carry === null ? null : money(r.carry).toFixed(),
    t0: Number(r.counter_created_ms),
  };
}

/** Puts an order back into the stream of its current step. */
export async function redrive(redis: RedisClient, prefix: string, m: StepMessage): Promise<void> {
  await redis.xadd(streamKey(prefix, m.step), '*', ...encodeMessage(m));
}

/**
 * The recovery scan: every unfinished order nobody has touched for `idleMs` is re-driven
 * from MySQL into the stream of its current step. This is what makes MySQL, not Redis, the
 * truth: a Redis that lost its streams (or a retry job) loses no order. A re-drive of an
 * order that was merely slow is harmless: the outcome gate lets one run through.
 */
export class RecoveryScan {
  private task: { stop(): Promise<void> } | null = null;
  private stopping = false;

  constructor(
    private readonly pool: Pool,
    private readonly redis: RedisClient,
    private readonly opts: { prefix: string; idleMs: number; intervalMs: number; batch?: number },
    private readonly log: Logger,
  ) {}

  start(): void {
    this.task = every(
      this.opts.intervalMs,
      () => this.scan(),
      (err) => this.log.error({ err }, 'recovery scan failed'),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.task?.stop();
  }

  /** One pass; returns how many orders it re-drove. */
  async scan(): Promise<number> {
    const now = Date.now();
    const [rows] = await this.pool.query<RowDataPacket[]>(
      "SELECT * FROM settlement_order WHERE status='RUNNING' AND updated_ms < ? ORDER BY updated_ms LIMIT ?",
      [now - this.opts.idleMs, this.opts.batch ?? 1000],
    );
    let n = 0;
    for (const r of rows) {
      if (this.stopping) break;
      // touching updated_ms claims the re-drive, so two scanners (or two passes) do not both send it
      const [res] = await this.pool.query<ResultSetHeader>(
        "UPDATE settlement_order SET updated_ms=? WHERE order_id=? AND updated_ms=? AND status='RUNNING'",
        [now, r.order_id, r.updated_ms],
      );
      if (res.affectedRows !== 1) continue;
      await redrive(this.redis, this.opts.prefix, messageFromRow(r));
      n++;
    }
    if (n > 0) this.log.warn({ redriven: n }, 'recovery scan re-drove idle orders');
    return n;
  }
}
