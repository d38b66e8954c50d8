import { Queue } from 'bullmq';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import { fieldMap, type RedisClient } from '../../infra/redis.js';
import type { Step } from '../domain/flows.js';
import {
  deliveryOf,
  type Entry,
  idInRange,
  judge,
  type OrderAtHand,
  type PendingInfo,
  parseStreamId,
  type Range,
  type Verdict,
} from '../domain/reprocess-plan.js';
import { decodeMessage, GROUP, streamKey } from '../domain/streams.js';
import { messageFromRow, redrive } from '../steps/redrive.js';
import { bullPrefix, RETRY_QUEUE } from '../steps/retry-queue.js';

/**
 * Reprocessing a range of a step stream: redrives into the step the orders that were due
 * for it in that range and have no live entry left, the way the recovery scan does (claim
 * by touching updated_ms, then an entry rebuilt from MySQL). Everything else is reported.
 */

export interface ReprocessOptions {
  step: Step;
  range: Range;
  apply: boolean;
  /** redrives at most this many; a second run takes the rest */
  limit: number;
}

export type ReportLine =
  | {
      action: 'redriven' | 'would-redrive';
      orderId: string;
      attempt: number;
      dueSince: string;
      replacedOrphans: string[];
    }
  | { action: 'queued'; orderId: string; attempt: number; entry: string }
  | { action: 'pending'; orderId: string; attempt: number; entry: string; consumer: string; idleMs: number }
  | { action: 'scheduled'; orderId: string; attempt: number; jobState: string }
  | { action: 'skipped'; orderId: string; reason: string }
  | { action: 'malformed'; entry: string; reason: string };

export interface Summary {
  step: Step;
  dryRun: boolean;
  redriven: number;
  queued: number;
  pending: number;
  scheduled: number;
  skipped: number;
  /** the step's stream entries in the range, by where they stand */
  entries: {
    inRange: number;
    queued: number;
    pending: number;
    orphaned: number;
    stale: number;
    malformed: number;
  };
}

const PAGE = 1000;

export async function reprocessStep(
  pool: Pool,
  redis: RedisClient,
  prefix: string,
  opts: ReprocessOptions,
  report: (line: ReportLine) => void,
): Promise<Summary> {
  const key = streamKey(prefix, opts.step);
  // an order touched after this moment may have entered the stream after it was read
  const readAt = Date.now();
  const entries = await readStream(redis, key);
  const inRange = entries.filter((e) => idInRange(parseStreamId(e.id), opts.range));
  const rows = await ordersOfRange(pool, opts.step, opts.range, inRange);
  const byOrder = new Map<string, Entry[]>();
  for (const e of entries) {
    if ('error' in e.message || e.message.step !== opts.step) continue;
    byOrder.set(e.message.orderId, [...(byOrder.get(e.message.orderId) ?? []), e]);
  }

  const summary: Summary = {
    step: opts.step,
    dryRun: !opts.apply,
    redriven: 0,
    queued: 0,
    pending: 0,
    scheduled: 0,
    skipped: 0,
    entries: tally(inRange, opts.step, rows),
  };
  for (const e of inRange) {
    const reason = malformation(e, opts.step);
    if (reason) report({ action: 'malformed', entry: e.id, reason });
  }

  const retries = new RetryStates(redis, prefix);
  try {
    for (const [orderId, r] of rows) {
      const order = r ? orderAtHand(r) : undefined;
      const own = byOrder.get(orderId) ?? [];
      let v = judge(opts.step, order, own, opts.range);
      if (order && v.action === 'redrive' && order.attempt > 1) {
        v = judge(opts.step, order, own, opts.range, await retries.of(order, opts.step));
      }
      // judge redrives only orders MySQL has
      const line =
        v.action === 'redrive'
          ? await act(pool, redis, key, prefix, opts, summary.redriven, r as RowDataPacket, v.orphans, readAt)
          : lineOf(orderId, order?.attempt ?? 0, v);
      report(line);
      if (line.action === 'redriven' || line.action === 'would-redrive') summary.redriven++;
      else if (line.action !== 'malformed') summary[line.action]++;
    }
  } finally {
    await retries.close();
  }
  return summary;
}

function lineOf(orderId: string, attempt: number, v: Exclude<Verdict, { action: 'redrive' }>): ReportLine {
  switch (v.action) {
    case 'queued':
      return { action: 'queued', orderId, attempt, entry: v.entry };
    case 'pending':
      return { action: 'pending', orderId, attempt, entry: v.entry, consumer: v.consumer, idleMs: v.idleMs };
    case 'scheduled':
      return { action: 'scheduled', orderId, attempt, jobState: v.jobState };
    case 'skip':
      return { action: 'skipped', orderId, reason: v.reason };
  }
}

/** Redrives one order (or says it would), within the limit and only if its claim wins. */
async function act(
  pool: Pool,
  redis: RedisClient,
  key: string,
  prefix: string,
  opts: ReprocessOptions,
  done: number,
  r: RowDataPacket,
  orphans: string[],
  readAt: number,
): Promise<ReportLine> {
  const order = orderAtHand(r);
  const { orderId, attempt } = order;
  if (done >= opts.limit)
    return { action: 'skipped', orderId, reason: `over --limit ${opts.limit}; run again` };
  if (Number(r.updated_ms) >= readAt)
    return { action: 'skipped', orderId, reason: 'the order moved while the stream was read; run again' };
  if (opts.apply) {
    if (!(await claimRedrive(pool, r))) {
      return { action: 'skipped', orderId, reason: 'the order changed meanwhile; run again' };
    }
    await redrive(redis, prefix, messageFromRow(r));
    // an orphan is never delivered; its replacement now is
    if (orphans.length > 0) await redis.xdel(key, ...orphans);
  }
  return {
    action: opts.apply ? 'redriven' : 'would-redrive',
    orderId,
    attempt,
    dueSince: new Date(order.enteredMs).toISOString(),
    replacedOrphans: orphans,
  };
}

/**
 * The claim of the recovery scan: only the process whose UPDATE moves updated_ms sends the
 * entry, so this script, a second run of it and the scan never send the same order twice.
 */
async function claimRedrive(pool: Pool, r: RowDataPacket): Promise<boolean> {
  const [res] = await pool.query<ResultSetHeader>(
    "UPDATE settlement_order SET updated_ms=? WHERE order_id=? AND updated_ms=? AND status='RUNNING' AND step=? AND attempt=?",
    [Math.max(Date.now(), Number(r.updated_ms) + 1), r.order_id, r.updated_ms, r.step, r.attempt],
  );
  return res.affectedRows === 1;
}

/**
 * The stream of one step with where each entry stands. Read in this order — the group's
 * cursor, then the pending list, then the entries — an entry found behind the cursor and
 * in no pending list really is orphaned: had it been pending then, acknowledging it would
 * have deleted it before the entries were read.
 */
async function readStream(redis: RedisClient, key: string): Promise<Entry[]> {
  const lastDelivered = await groupCursor(redis, key);
  const pel = new Map<string, PendingInfo>();
  if (lastDelivered !== null) {
    for (let start = '-'; ; ) {
      const page = (await redis.xpending(key, GROUP, start, '+', PAGE)) as [string, string, number, number][];
      for (const [id, consumer, idleMs] of page) pel.set(id, { consumer, idleMs: Number(idleMs) });
      if (page.length < PAGE) break;
      start = `(${page[page.length - 1]?.[0]}`;
    }
  }
  const out: Entry[] = [];
  for (let start = '-'; ; ) {
    const page = await redis.xrange(key, start, '+', 'COUNT', PAGE);
    for (const [id, fields] of page) {
      out.push({ id, message: decodeMessage(fields), delivery: deliveryOf(id, pel, lastDelivered) });
    }
    if (page.length < PAGE) break;
    start = `(${page[page.length - 1]?.[0]}`;
  }
  return out;
}

async function groupCursor(redis: RedisClient, key: string): Promise<string | null> {
  try {
    const groups = (await redis.xinfo('GROUPS', key)) as (string | number)[][];
    for (const g of groups) {
      const f = fieldMap(g);
      if (f.name === GROUP) return f['last-delivered-id'] ?? null;
    }
    return null;
  } catch (err) {
    if ((err as Error).message.includes('no such key')) return null;
    throw err;
  }
}

/** `entered_ms`: the end of the last recorded outcome moved the order to where it is now. */
const ORDER_COLUMNS =
  'o.*, COALESCE((SELECT MAX(s.finished_ms) FROM settlement_step s WHERE s.order_id = o.order_id), o.intake_ms) AS entered_ms';

/**
 * The orders the range concerns, in the order they became due: those waiting for the step
 * that became due in the range, those that ran the step in the range (to say why they are
 * skipped), and those of the entries in the range.
 */
async function ordersOfRange(
  pool: Pool,
  step: Step,
  range: Range,
  inRange: Entry[],
): Promise<Map<string, RowDataPacket | null>> {
  const [waiting] = await pool.query<RowDataPacket[]>(
    `SELECT * FROM (SELECT ${ORDER_COLUMNS} FROM settlement_order o WHERE o.status='RUNNING' AND o.step=?) t
       WHERE t.entered_ms BETWEEN ? AND ?`,
    [step, range.sinceMs, range.untilMs],
  );
  // no index on started_ms: a scan of the step log, acceptable for an operator's occasional run
  const [ran] = await pool.query<RowDataPacket[]>(
    `SELECT ${ORDER_COLUMNS} FROM settlement_order o WHERE o.order_id IN
       (SELECT s.order_id FROM settlement_step s WHERE s.step=? AND s.started_ms BETWEEN ? AND ?)`,
    [step, range.sinceMs, range.untilMs],
  );
  const ids = [...new Set(inRange.flatMap((e) => ('error' in e.message ? [] : [e.message.orderId])))];
  const referenced: RowDataPacket[] = [];
  for (let i = 0; i < ids.length; i += PAGE) {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT ${ORDER_COLUMNS} FROM settlement_order o WHERE o.order_id IN (?)`,
      [ids.slice(i, i + PAGE)],
    );
    referenced.push(...rows);
  }
  const all = [...waiting, ...ran, ...referenced].sort(
    (a, b) => Number(a.entered_ms) - Number(b.entered_ms) || (a.order_id < b.order_id ? -1 : 1),
  );
  const out = new Map<string, RowDataPacket | null>();
  for (const r of all) out.set(r.order_id, r);
  // an entry whose order MySQL does not know is reported as such
  for (const id of ids) if (!out.has(id)) out.set(id, null);
  return out;
}

function orderAtHand(r: RowDataPacket): OrderAtHand {
  return {
    orderId: r.order_id,
    status: r.status,
    step: Number(r.step),
    attempt: Number(r.attempt),
    errorCode: r.error_code ?? null,
    enteredMs: Number(r.entered_ms),
  };
}

function malformation(e: Entry, step: Step): string | null {
  if ('error' in e.message) return `${e.message.error}; the worker dead-letters it`;
  if (e.message.step !== step) return `an entry of step ${e.message.step}; the worker dead-letters it`;
  return null;
}

function tally(inRange: Entry[], step: Step, rows: Map<string, RowDataPacket | null>): Summary['entries'] {
  const t = { inRange: inRange.length, queued: 0, pending: 0, orphaned: 0, stale: 0, malformed: 0 };
  for (const e of inRange) {
    if (malformation(e, step) !== null || 'error' in e.message) {
      t.malformed++;
      continue;
    }
    const r = rows.get(e.message.orderId);
    const current =
      r?.status === 'RUNNING' && Number(r.step) === step && Number(r.attempt) === e.message.attempt;
    // an entry of an attempt no longer current is dropped by the outcome gate when run
    if (!current) t.stale++;
    else t[e.delivery.kind]++;
  }
  return t;
}

/** BullMQ's view of the retry job of an order's current attempt (the job id of steps/retry-queue.ts). */
class RetryStates {
  private queue: Queue | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async of(order: OrderAtHand, step: Step): Promise<string> {
    // read-only: no queue metadata written, so a dry run leaves Redis as it was
    this.queue ??= new Queue(RETRY_QUEUE, {
      connection: this.redis,
      prefix: bullPrefix(this.prefix),
      skipMetasUpdate: true,
    });
    return this.queue.getJobState(`${encodeURIComponent(order.orderId)}|${step}|${order.attempt}`);
  }

  async close(): Promise<void> {
    await this.queue?.close();
  }
}
