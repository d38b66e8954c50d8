/**
 * A follow whose copies the exchange keeps refusing for the same reason is paused, with a
 * notice, rather than refused on every signal unseen. Pure. Rules, in order:
 * 1. What counts: a copy recorded REJECTED (the exchange refused it, or gave no answer), by
 *    its code (INSUFFICIENT_MARGIN, QTY_ABOVE_MAX, …), opens and closes alike.
 * 2. A copy recorded FILLED (anything filled) ends the streak.
 * 3. A refusal for another code starts a new streak at 1: "the same reason N times in a row".
 * 4. Skips (nothing sent: sizing said no; or nothing filled within the slippage bound) are
 *    decisions, not refusals: they neither count nor end a streak.
 * 5. At `limit` refusals in a row an active follow is paused (no new opens, closes still
 *    follow); the streak is done with then, and a resumed follow starts from 0. limit 0: never.
 */

export interface RefusalStreak {
  /** the exchange's code of every refusal in the streak */
  readonly code: string;
  readonly count: number;
  /** epoch ms of the last refusal recorded (with the count, it names the pause's notice) */
  readonly lastMs: number;
}

/** A copy as recorded: filled, or refused with the exchange's code. */
export type RecordedCopy = { status: 'FILLED' } | { status: 'REJECTED'; code: string };

/** The streak after one more recorded copy (rules 1-3); undefined: none. */
export function nextStreak(
  prior: RefusalStreak | undefined,
  copy: RecordedCopy,
  nowMs: number,
): RefusalStreak | undefined {
  if (copy.status === 'FILLED') return undefined;
  const count = prior !== undefined && prior.code === copy.code ? prior.count + 1 : 1;
  return { code: copy.code, count, lastMs: nowMs };
}

/** Whether the streak pauses its follow (rule 5). */
export const pausesFollow = (s: RefusalStreak, limit: number): boolean => limit > 0 && s.count >= limit;
