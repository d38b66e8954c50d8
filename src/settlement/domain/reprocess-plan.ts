import type { Step } from './flows.js';
import type { StepMessage } from './streams.js';

/**
 * Deciding what reprocessing a range of a step stream means for each order. Pure: the
 * reads and writes are in ops/reprocess.ts.
 *
 * Acknowledged entries are deleted, so a range of a stream is mostly gone by the time an
 * operator asks for it; MySQL says which orders were due for the step in that window, and
 * the entries still in the stream say which of them are already on their way.
 */

/** A stream id as [ms, seq]; `-`/`+` are the smallest and largest. */
export type StreamId = readonly [ms: number, seq: number];

const STREAM_ID = /^(\d+)(?:-(\d+))?$/;

/** Parses `ms` or `ms-seq`; a bare `ms` is the first id of that ms, or the last as an end bound. */
export function parseStreamId(text: string, bound: 'start' | 'end' = 'start'): StreamId {
  const m = STREAM_ID.exec(text);
  if (!m) throw new Error(`not a stream id (ms or ms-seq): ${text}`);
  const seq = m[2] === undefined ? (bound === 'start' ? 0 : Number.MAX_SAFE_INTEGER) : Number(m[2]);
  return [Number(m[1]), seq];
}

export function compareIds(a: StreamId, b: StreamId): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** The window asked for, as stream ids (entries) and as the same span in ms (MySQL times). */
export interface Range {
  start: StreamId;
  end: StreamId;
  sinceMs: number;
  untilMs: number;
}

const FIRST: StreamId = [0, 0];
const LAST: StreamId = [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];

/** A stream id's ms part is the time it was added: an id range is also a time range. */
export function rangeOfIds(fromId?: string, toId?: string): Range {
  const start = fromId === undefined ? FIRST : parseStreamId(fromId, 'start');
  const end = toId === undefined ? LAST : parseStreamId(toId, 'end');
  return { start, end, sinceMs: start[0], untilMs: end[0] };
}

export function rangeOfTimes(sinceMs?: number, untilMs?: number): Range {
  const since = sinceMs ?? 0;
  const until = untilMs ?? Number.MAX_SAFE_INTEGER;
  return { start: [since, 0], end: [until, Number.MAX_SAFE_INTEGER], sinceMs: since, untilMs: until };
}

export const idInRange = (id: StreamId, r: Range): boolean =>
  compareIds(id, r.start) >= 0 && compareIds(id, r.end) <= 0;
export const msInRange = (ms: number, r: Range): boolean => ms >= r.sinceMs && ms <= r.untilMs;

/**
 * Where an entry stands with the step's consumer group: still to be read (`queued`), read
 * and unacknowledged (`pending`: XAUTOCLAIM hands it to a live consumer once idle), or
 * `orphaned`: behind the group's last-delivered id and in nobody's pending list, so no
 * consumer will ever read it (a group moved with SETID, an ack that did not delete).
 */
export type Delivery =
  | { kind: 'queued' }
  | { kind: 'pending'; consumer: string; idleMs: number }
  | { kind: 'orphaned' };

export interface Entry {
  id: string;
  message: StepMessage | { error: string };
  delivery: Delivery;
}

export interface PendingInfo {
  consumer: string;
  idleMs: number;
}

/** `lastDelivered` null: the group does not exist; the workers create it reading from the start. */
export function deliveryOf(
  id: string,
  pel: Map<string, PendingInfo>,
  lastDelivered: string | null,
): Delivery {
  const p = pel.get(id);
  if (p) return { kind: 'pending', ...p };
  if (lastDelivered === null) return { kind: 'queued' };
  return compareIds(parseStreamId(id), parseStreamId(lastDelivered)) > 0
    ? { kind: 'queued' }
    : { kind: 'orphaned' };
}

/** An order as MySQL has it, with when it became due for its current step and attempt. */
export interface OrderAtHand {
  orderId: string;
  status: string;
  step: number;
  attempt: number;
  errorCode: string | null;
  /** the end of the outcome that led to this step and attempt (intake for step 1, attempt 1) */
  enteredMs: number;
}

export type Verdict =
  | { action: 'redrive'; orphans: string[] }
  | { action: 'queued'; entry: string }
  | { action: 'pending'; entry: string; consumer: string; idleMs: number }
  | { action: 'scheduled'; jobState: string }
  | { action: 'skip'; reason: string };

/** BullMQ states of a retry job that will still put the entry back into the stream. */
const RETRY_ON_ITS_WAY = new Set(['delayed', 'waiting', 'active', 'prioritized', 'waiting-children']);

/**
 * What to do with one order. `entries` are its entries anywhere in the step's stream (a
 * live one outside the range still counts: a second entry of the same attempt would only
 * be a duplicate run for the outcome gate to drop); `inRange` whether one of them lies in
 * the range; `retryJob` the state of the BullMQ retry of its current attempt, if asked.
 */
export function judge(
  step: Step,
  order: OrderAtHand | undefined,
  entries: readonly Entry[],
  range: Range,
  retryJob?: string,
): Verdict {
  if (!order) return { action: 'skip', reason: 'no such order' };
  if (order.status === 'DONE') return { action: 'skip', reason: 'DONE' };
  if (order.status === 'MANUAL') {
    const why = order.errorCode ? ` (${order.errorCode})` : '';
    return {
      action: 'skip',
      reason: `MANUAL at step ${order.step}${why}: retry it with scripts/retry-manual.ts`,
    };
  }
  if (order.step > step) return { action: 'skip', reason: `at step ${order.step}: step ${step} is done` };
  if (order.step < step) return { action: 'skip', reason: `at step ${order.step}: not yet at step ${step}` };

  const current = entries.filter((e) => !('error' in e.message) && e.message.attempt === order.attempt);
  const pending = current.find((e) => e.delivery.kind === 'pending');
  if (pending?.delivery.kind === 'pending') {
    const { consumer, idleMs } = pending.delivery;
    return { action: 'pending', entry: pending.id, consumer, idleMs };
  }
  const queued = current.find((e) => e.delivery.kind === 'queued');
  if (queued) return { action: 'queued', entry: queued.id };

  const entryInRange = current.some((e) => idInRange(parseStreamId(e.id), range));
  if (!msInRange(order.enteredMs, range) && !entryInRange) {
    return {
      action: 'skip',
      reason: `attempt ${order.attempt} of step ${step} began ${new Date(order.enteredMs).toISOString()}, outside the range`,
    };
  }
  if (retryJob !== undefined && RETRY_ON_ITS_WAY.has(retryJob))
    return { action: 'scheduled', jobState: retryJob };
  return { action: 'redrive', orphans: current.map((e) => e.id) };
}
