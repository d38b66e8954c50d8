import type { RowDataPacket } from 'mysql2/promise';
import { money } from '../../domain/money.js';
import type { RedisClient } from '../../infra/redis.js';
import type { Step } from '../domain/flows.js';
import type { Asset, Flow } from '../domain/order.js';
import { encodeMessage, type StepMessage, streamKey } from '../domain/streams.js';

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
    // the row does not keep where the budget began: a redriven step gets a fresh one
    firstAttempt: Number(r.attempt),
    carry: r.carry === null ? null : money(r.carry).toFixed(),
    t0: Number(r.counter_created_ms),
  };
}

/** Puts an order back into the stream of its current step. */
export async function redrive(redis: RedisClient, prefix: string, m: StepMessage): Promise<void> {
  await redis.xadd(streamKey(prefix, m.step), '*', ...encodeMessage(m));
}
