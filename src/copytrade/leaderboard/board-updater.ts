import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { FanoutResult } from '../fanout/fanout.js';
import type { FanoutObserver } from '../metrics.js';
import type { BoardStore } from './board-store.js';
import { allLeadIds, computeEntries } from './history.js';

/**
 * Keeps the board up to date off the hot path: the fan-out only marks a lead as touched (a
 * Set.add per signal, not per copier), and one background run at a time recomputes the
 * touched leads from MySQL and writes them; what is touched while a run works is done by
 * the next. A snapshot round touches every lead.
 */
export class BoardUpdater {
  private readonly touched = new Set<string>();
  private everyone = false;
  private running: Promise<void> | null = null;
  private lastRunMs = 0;

  constructor(
    private readonly pool: Pool,
    private readonly store: BoardStore,
    private readonly log: Logger,
    /** the least time between two runs' starts */
    private readonly minGapMs = 1000,
  ) {}

  touch(traderId: string): void {
    this.touched.add(traderId);
    this.kick();
  }

  touchAll(): void {
    this.everyone = true;
    this.kick();
  }

  /** Resolves once nothing is left to do (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.everyone || this.touched.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // at most one run per gap: a burst of signals is one recompute, and the fan-out's
    // process spends a bounded share of its time on the board
    const wait = this.lastRunMs + this.minGapMs - Date.now();
    await new Promise((r) => (wait > 0 ? setTimeout(r, wait) : setImmediate(r)));
    this.lastRunMs = Date.now();
    const all = this.everyone;
    const ids = [...this.touched];
    this.everyone = false;
    this.touched.clear();
    try {
      await this.store.write(await computeEntries(this.pool, all ? await allLeadIds(this.pool) : ids));
    } catch (err) {
      this.log.warn(
        { err, leads: all ? 'all' : ids.length },
        'leaderboard update failed; the next snapshot round redoes it',
      );
    }
  }
}

/** The lead of a fan-out's signal key `{signalId}@{traderId}` (ids never hold '@'). */
export const traderOfSignalKey = (signalKey: string): string => signalKey.slice(signalKey.indexOf('@') + 1);

/** `inner`, telling `onSignal` the lead of every signal fanned out (an open moves copy quality, a close the win rate). */
export function withBoardUpdates(
  inner: FanoutObserver | undefined,
  onSignal: (traderId: string) => void,
): FanoutObserver {
  return {
    fannedOut(r: FanoutResult, receivedMs: number) {
      inner?.fannedOut(r, receivedMs);
      onSignal(traderOfSignalKey(r.signalKey));
    },
    closedOut: () => inner?.closedOut(),
    deadLettered: () => inner?.deadLettered(),
    recorded: (record) => inner?.recorded(record),
    batchFailed: () => inner?.batchFailed(),
  };
}
