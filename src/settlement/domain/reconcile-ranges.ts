/**
 * Which counter times the reconciler lists for a shard in one pass. It used to list the
 * whole window (from the watermark less the window up to now less the grace) every pass,
 * each row about window / interval times; now each pass goes on from where the last one
 * ended. Pure.
 *
 * Two looks per pass, `[from, to)` in the counter's `created_ms`, with `until` = now - grace
 * (our clock):
 * - the recent look: from `lagMs` before where the last pass's recent look ended, to `until`;
 * - the last look: the rows that have just become `window` older than `until`, once more.
 *
 * Guarantee, for passes of one process in a row (the cursors live in its memory; a shard
 * without a cursor, or whose cursor fell out of the window before its watermark, is listed
 * from the watermark less the window as before), a shard whose listing fails keeping its
 * cursor. A row dated `t` is found:
 * - by the first pass after it is visible, if it is visible on the counter by our clock's
 *   `t + grace + lag`: looks overlap by `lag`, so the last recent look that covers `t` ends
 *   past `t + lag`, i.e. runs after `t + lag + grace`;
 * - by the first pass after our clock's `t + grace + window`, if it is visible by then: the
 *   last looks tile the time line `window` behind the recent looks' ends.
 * A row is visible late when its transaction commits after rows dated later (commit order
 * is not `created_ms` order); a counter clock behind ours dates rows in the past, and
 * that skew uses up as much of the lag and of the window. A row visible later still is
 * missed, as it was by the whole-window listing once the watermark had moved on.
 * In steady state a row is listed (interval + lag) / interval + 1 times (3 with the
 * defaults) instead of window / interval (10).
 */

/** Where the last pass's looks at a shard ended (exclusive). */
export interface ShardCursor {
  recentTo: number;
  lastTo: number;
}

/** Counter times `[from, to)`. */
export interface TimeRange {
  from: number;
  to: number;
}

export interface ReconcileSpan {
  windowMs: number;
  graceMs: number;
  lagMs: number;
}

export interface PassPlan {
  recent: TimeRange;
  /** absent when nothing left the window since the last pass (or on a shard's first pass) */
  last?: TimeRange;
  /** the cursor once both looks are listed and what they found is taken in */
  next: ShardCursor;
}

export function planPass(
  cursor: ShardCursor | undefined,
  watermark: number,
  nowMs: number,
  span: ReconcileSpan,
): PassPlan {
  const until = nowMs - span.graceMs;
  const edge = Math.max(0, until - span.windowMs);
  // a watermark ahead of `until` (the counter's clock runs ahead, within the skew) must not
  // turn the window inside out: the counter refuses that, and the shard would never be looked at
  const mark = Math.min(watermark || nowMs - span.windowMs, until);
  const windowFrom = Math.max(0, mark - span.windowMs);
  if (cursor === undefined || cursor.recentTo < windowFrom) {
    return { recent: { from: windowFrom, to: until }, next: { recentTo: until, lastTo: edge } };
  }
  const recent = { from: Math.min(until, Math.max(windowFrom, cursor.recentTo - span.lagMs)), to: until };
  const next = { recentTo: Math.max(until, cursor.recentTo), lastTo: Math.max(edge, cursor.lastTo) };
  return cursor.lastTo < edge ? { recent, last: { from: cursor.lastTo, to: edge }, next } : { recent, next };
}
