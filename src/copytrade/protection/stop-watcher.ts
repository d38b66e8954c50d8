import type { Logger } from '../../infra/log.js';
import { type Fx, fx, fxStr } from '../domain/fixed.js';
import type { FollowSettings } from '../domain/settings.js';
import {
  followTriggers,
  hasStops,
  type Mark,
  needsDayBase,
  pairPnl,
  pairSlices,
  type Trigger,
  utcDay,
} from '../domain/stops.js';
import type { CopierBook } from '../fanout/book.js';

/** How often the list of follows with stops is rebuilt from the book (follows change rarely). */
const INDEX_EVERY_MS = 1000;
/** A trigger acted on is not acted on again for this long, while its close waits in the stream. */
const REFIRE_AFTER_MS = 60_000;

/** What the watcher does with what it decides (stop-actions.ts). */
export interface StopActions {
  /**
   * Each follow's PnL when `day` began: the first stored for that day, else the one given
   * (stored now); keyed by `{copierId}|{traderId}`.
   */
  dayBases(
    day: string,
    now: readonly { copierId: string; traderId: string; pnl: string }[],
  ): Promise<Map<string, string>>;
  /** pauses the follow if the trigger says so, tells the copier, then queues the close on the fan-out's stream */
  fire(trigger: Trigger): Promise<void>;
}

const pairKey = (copierId: string, traderId: string) => `${copierId}|${traderId}`;

/**
 * Watches the copiers' stops (domain/stops.ts) on the mark prices the copy engine reads
 * from the exchange: `check` runs after each price refresh, in the process that holds the
 * fan-out role and its book. Off the fan-out's path: only follows that have a stop are
 * looked at (a list rebuilt every second; each follow's current settings and slices are
 * read from the book at every check), and a check never overlaps the previous one. Each
 * trigger becomes a close-out request on the signal stream, so its close is the fan-out's,
 * in turn with the trader's signals, once per request id (also after a crash).
 */
export class StopWatcher {
  private index: { traderId: string; copierId: string }[] = [];
  private indexedMs = Number.NEGATIVE_INFINITY;
  private readonly fired = new Map<string, number>();
  /**
   * Follows whose equity stop or daily loss limit is being carried out: their slices close
   * one after the other, each close a new state (and a new request id), which must not be
   * decided as a trigger of its own; until the last slice is closed, or REFIRE_AFTER_MS.
   */
  private readonly closing = new Map<string, number>();
  private readonly marks = new Map<string, { price: string; mark: Mark }>();
  private day = '';
  private readonly bases = new Map<string, Fx>();
  private running = false;

  constructor(
    private readonly book: CopierBook,
    private readonly actions: StopActions,
    private readonly opts: { holdsRole?: () => boolean; now?: () => number },
    private readonly log: Logger,
  ) {}

  /** One look at every follow with a stop, at `prices` (instrument → mark). Resolves with the triggers acted on. */
  async check(prices: ReadonlyMap<string, string>): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      return await this.checkOnce(prices);
    } catch (err) {
      this.log.error({ err }, 'stop check failed; the next price refresh checks again');
      return 0;
    } finally {
      this.running = false;
    }
  }

  private async checkOnce(prices: ReadonlyMap<string, string>): Promise<number> {
    const now = (this.opts.now ?? Date.now)();
    const day = utcDay(now);
    if (day !== this.day) {
      // a new UTC day: every daily loss limit starts from the PnL as it is now
      this.day = day;
      this.bases.clear();
    }
    if (now - this.indexedMs >= INDEX_EVERY_MS) this.reindex(now);
    const markOf = (instrument: string) => this.markOf(instrument, prices);
    const needBase: { copierId: string; traderId: string; pnl: string }[] = [];
    let acted = 0;
    for (const { traderId, copierId } of this.index) {
      // the follow as it is now: one changed since the index was built is read with its new settings
      const follow = this.book.followOf(traderId, copierId);
      const copier = this.book.copier(copierId);
      if (!follow || !copier || !hasStops(follow)) continue;
      const key = pairKey(copierId, traderId);
      const closingUntil = this.closing.get(key);
      if (closingUntil !== undefined) {
        const open = pairSlices(copier.slices, traderId).some((x) => fx(x.qty) > 0n);
        if (open && closingUntil > now) continue;
        this.closing.delete(key);
      }
      let dayBase: Fx | undefined;
      if (needsDayBase(follow)) {
        dayBase = this.bases.get(key);
        if (dayBase === undefined) {
          const pnl = pairPnl(pairSlices(copier.slices, traderId), markOf);
          if (pnl !== undefined) needBase.push({ copierId, traderId, pnl: fxStr(pnl) });
        }
      }
      const triggers = followTriggers({
        follow,
        slices: copier.slices,
        markOf,
        leverageOf: (instrument) => copier.leverage?.get(instrument) ?? ownLeverage(follow),
        day,
        ...(dayBase === undefined ? {} : { dayBase }),
      });
      for (const t of triggers) {
        if ((this.fired.get(t.requestId) ?? 0) > now) continue;
        // the role gone: the next holder's watcher decides again from the same book state
        if (this.opts.holdsRole?.() === false) return acted;
        this.fired.set(t.requestId, now + REFIRE_AFTER_MS);
        if (t.pause) this.closing.set(key, now + REFIRE_AFTER_MS);
        try {
          await this.actions.fire(t);
          acted++;
          this.log.info(
            { trigger: t.kind, requestId: t.requestId, copierId, traderId },
            'copier stop triggered',
          );
        } catch (err) {
          // tried again at the next check: the request id is the same while the slices are
          this.fired.delete(t.requestId);
          this.closing.delete(key);
          this.log.error({ err, requestId: t.requestId, copierId }, 'copier stop not acted on; retried');
        }
      }
    }
    if (needBase.length > 0 && this.opts.holdsRole?.() !== false) {
      for (const [key, base] of await this.actions.dayBases(day, needBase)) {
        if (this.day === day) this.bases.set(key, fx(base));
      }
    }
    return acted;
  }

  /** The follows (active or paused) that have a stop; requests acted on long ago forgotten. */
  private reindex(now: number): void {
    const index: { traderId: string; copierId: string }[] = [];
    for (const traderId of this.book.leadIds()) {
      for (const f of this.book.followsOf(traderId))
        if (hasStops(f)) index.push({ traderId, copierId: f.copierId });
    }
    this.index = index;
    this.indexedMs = now;
    for (const [id, until] of this.fired) if (until <= now) this.fired.delete(id);
  }

  private markOf(instrument: string, prices: ReadonlyMap<string, string>): Mark | undefined {
    const price = prices.get(instrument);
    if (price === undefined) return undefined;
    const known = this.marks.get(instrument);
    if (known?.price === price) return known.mark;
    const rules = this.book.rulesOf(instrument);
    if (!rules) return undefined;
    const mark = { price: fx(price), contractSize: fx(rules.contractSize), tick: fx(rules.tickSize) };
    this.marks.set(instrument, { price, mark });
    return mark;
  }
}

/** A follow's own leverage, where the exchange's is not known (yet). */
const ownLeverage = (f: FollowSettings): number | undefined =>
  f.leverage === 'trader' ? undefined : f.leverage;
