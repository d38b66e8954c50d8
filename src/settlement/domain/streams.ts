import type { Step } from './flows.js';
import { isStep } from './flows.js';
import type { Asset, Flow } from './order.js';

/** One stream and one consumer group per step: `{prefix}:settle:{step}`. */
export const streamKey = (prefix: string, step: Step): string => `${prefix}:settle:${step}`;
/** Set once an order has been handed from `step` to the next: a second hand-off is skipped. */
export const handoffMarkerKey = (prefix: string, orderId: string, step: Step): string =>
  `${prefix}:settle:handoff:${orderId}:${step}`;
/** Stream entries that could not be read, with the reason. */
export const deadLetterKey = (prefix: string): string => `${prefix}:settle:dead`;
export const GROUP = 'settle';

/** What a step needs to run, carried in the stream entry so that the hot path reads no MySQL. */
export interface StepMessage {
  orderId: string;
  userId: string;
  flow: Flow;
  asset: Asset;
  qty: string;
  usdt: string;
  step: Step;
  attempt: number;
  /** the attempt this run of the step began with: the retry budget counts from it */
  firstAttempt: number;
  carry: string | null;
  /** when the counter wrote the order (ms): end-to-end latency starts here */
  t0: number;
}

/**
 * An entry is one field `m` holding the message as a JSON array: one string for Redis to
 * store and for ioredis to write and parse, instead of twenty-two.
 */
export function encodeMessage(m: StepMessage): string[] {
  return [
    'm',
    JSON.stringify([
      m.orderId,
      m.userId,
      m.flow,
      m.asset,
      m.qty,
      m.usdt,
      m.step,
      m.attempt,
      m.carry,
      m.t0,
      m.firstAttempt,
    ]),
  ];
}

/** Decodes a stream entry's fields; a malformed entry yields the reason instead. */
export function decodeMessage(fields: string[]): StepMessage | { error: string } {
  if (fields.length !== 2 || fields[0] !== 'm') return { error: 'expected one field m' };
  let v: unknown;
  try {
    v = JSON.parse(fields[1] as string);
  } catch {
    return { error: 'field m is not JSON' };
  }
  if (!Array.isArray(v) || v.length !== 11) return { error: 'field m is not an array of 11' };
  const [orderId, userId, flow, asset, qty, usdt, step, attempt, carry, t0, firstAttempt] = v as unknown[];
  if (
    typeof orderId !== 'string' ||
    typeof userId !== 'string' ||
    typeof qty !== 'string' ||
    typeof usdt !== 'string'
  ) {
    return { error: 'missing order fields' };
  }
  if (flow !== 'open' && flow !== 'close') return { error: `bad flow ${String(flow)}` };
  if (asset !== 'BTC' && asset !== 'ETH') return { error: `bad asset ${String(asset)}` };
  if (typeof step !== 'number' || !isStep(step)) return { error: `bad step ${String(step)}` };
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1)
    return { error: `bad attempt ${String(attempt)}` };
  if (carry !== null && typeof carry !== 'string') return { error: 'bad carry' };
  if (typeof t0 !== 'number' || !Number.isFinite(t0)) return { error: `bad t0 ${String(t0)}` };
  if (
    typeof firstAttempt !== 'number' ||
    !Number.isInteger(firstAttempt) ||
    firstAttempt < 1 ||
    firstAttempt > attempt
  ) {
    return { error: `bad first attempt ${String(firstAttempt)}` };
  }
  return { orderId, userId, flow, asset, qty, usdt, step, attempt, carry, t0, firstAttempt };
}
