import type { RowDataPacket } from 'mysql2/promise';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { nextStreak, pausesFollow, type RefusalStreak } from '../domain/refusal-streak.js';
import { type NoticePusher, notify } from '../notices/notices.js';
import type { CopierBook } from './book.js';
import type { PlacedOrder, StreakChange } from './copy-store.js';

export interface RefusalPauseOptions {
  /** the fan-out's pool (not the multi-statement writer) */
  pool: Pool;
  book: CopierBook;
  /** refusals in a row that pause a follow (TF_COPY_PAUSE_AFTER_REFUSALS); 0: never */
  limit: number;
  /** the book reads the copier's follows again, in turn with its other loads (after any load in flight) */
  reload?: (copierId: string) => Promise<void>;
  push?: NoticePusher;
  log: Logger;
}

const keyOf = (copierId: string, traderId: string): string => `${copierId}\n${traderId}`;

/**
 * The refusal streaks of follows (domain/refusal-streak.ts), and the pause they lead to. The
 * streaks are in memory for the hot path and in MySQL (copy_follow_refusal) for a restart:
 * each batch's changes are written with the batch, as absolute values, and only for copiers
 * whose streak moves (a refusal, or a fill after one), so a batch of fills adds nothing.
 * A pause, once a batch holding the limit-th refusal is written: the book's follow at once
 * (the next signal opens nothing for it), then the notice (its key named by the streak, so a
 * pause run again after a crash notifies once), then the follow's row, then the streak is
 * dropped. A crash in between leaves the streak at the limit: load() finishes the pause.
 */
export class RefusalPause {
  private readonly streaks = new Map<string, RefusalStreak>();

  constructor(private readonly opts: RefusalPauseOptions) {}

  /** The streaks from MySQL; a follow already at the limit (a pause a crash cut short) is paused now. */
  async load(): Promise<void> {
    const [rows] = await this.opts.pool.query<RowDataPacket[]>(
      'SELECT copier_id, trader_id, code, count, last_ms FROM copy_follow_refusal',
    );
    this.streaks.clear();
    for (const r of rows) {
      const copierId = String(r.copier_id);
      const traderId = String(r.trader_id);
      const streak = { code: String(r.code), count: Number(r.count), lastMs: Number(r.last_ms) };
      this.streaks.set(keyOf(copierId, traderId), streak);
    }
    for (const r of rows) await this.pauseIfDue(String(r.copier_id), String(r.trader_id));
  }

  /** A follow's streak (tests, metrics). */
  streakOf(copierId: string, traderId: string): RefusalStreak | undefined {
    return this.streaks.get(keyOf(copierId, traderId));
  }

  /** What a batch's recorded orders do to the streaks, to be written with the batch. */
  changes(orders: readonly PlacedOrder[], nowMs = Date.now()): StreakChange[] {
    const out: StreakChange[] = [];
    for (const p of orders) {
      // the usual batch: every copy filled, no streak going
      if (p.status === 'FILLED' && this.streaks.size === 0) continue;
      const { copierId, traderId } = p.order;
      const prior = this.streaks.get(keyOf(copierId, traderId));
      if (p.status === 'FILLED') {
        if (prior !== undefined) out.push({ copierId, traderId, streak: null });
        continue;
      }
      // a copy of a slice kept after a liquidation is no follow's
      if (!this.opts.book.followOf(traderId, copierId)) continue;
      const code = p.errorCode ?? 'REJECTED';
      const streak = nextStreak(prior, { status: 'REJECTED', code }, nowMs) as RefusalStreak;
      out.push({ copierId, traderId, streak });
    }
    return out;
  }

  /** The batch holding `changes` is written: memory follows, and a follow at the limit is paused. */
  async recorded(changes: readonly StreakChange[]): Promise<void> {
    for (const c of changes) {
      const key = keyOf(c.copierId, c.traderId);
      if (c.streak === null) this.streaks.delete(key);
      else this.streaks.set(key, c.streak);
    }
    for (const c of changes) if (c.streak !== null) await this.pauseIfDue(c.copierId, c.traderId);
  }

  private async pauseIfDue(copierId: string, traderId: string): Promise<void> {
    const key = keyOf(copierId, traderId);
    const streak = this.streaks.get(key);
    if (streak === undefined || !pausesFollow(streak, this.opts.limit)) return;
    const { pool, book, log } = this.opts;
    const follow = book.followOf(traderId, copierId);
    try {
      // a follow paused or stopped already (by the copier) needs no pause: the streak is done with
      if (follow?.status === 'active') {
        book.setFollow({ ...follow, status: 'paused' });
        await notify(
          pool,
          {
            userId: copierId,
            kind: 'pause',
            dedupKey: `refused:${copierId}:${traderId}:${streak.count}:${streak.lastMs}`,
            payload: { traderId, reason: streak.code, refusals: streak.count },
          },
          this.opts.push,
        );
        await pool.query(
          "UPDATE copy_follow SET status='paused', updated_ms=? WHERE copier_id=? AND trader_id=? AND status='active'",
          [Date.now(), copierId, traderId],
        );
        log.warn({ copierId, traderId, ...streak }, 'follow paused: its copies were refused in a row');
      }
      await pool.query('DELETE FROM copy_follow_refusal WHERE copier_id=? AND trader_id=?', [
        copierId,
        traderId,
      ]);
      this.streaks.delete(key);
      await this.opts.reload?.(copierId);
    } catch (err) {
      // the streak stays at the limit: the next refusal, or the next start, pauses it
      log.error({ err, copierId, traderId }, 'follow not paused after its refusals; tried again later');
    }
  }
}
