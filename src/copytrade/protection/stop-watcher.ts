import type { Logger } from '../../infra/log.js';
import { type Fx, fx, fxStr } from '../domain/fixed.js';
import type { FollowSettings } from '../domain/settings.js';
import type { Slice } from '../domain/slices.js';
import {
  hasStops,
  type InstrumentTerms,
  type Mark,
  needsDayBase,
  type PreparedStops,
  pairPnl,
  pairSlices,
  prepareStops,
  type Trigger,
  triggersAt,
  utcDay,
} from '../domain/stops.js';
import type { CopierBook, CopierEntry } from '../fanout/book.js';

/** How often the list of follows with stops is rebuilt from the book (follows change rarely). */
const INDEX_EVERY_MS = 1000;
/** A trigger acted on is not acted on again for this long, while its close waits in the stream. */
const REFIRE_AFTER_MS = 60_000;
/** follows checked between two turns of the event loop */
const YIELD_EVERY = 1000;

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

/** A follow with stops, and its stops as last prepared (for the follow and slices named). */
interface Watched {
  key: string;
  traderId: string;
  copierId: string;
  follow?: FollowSettings;
  slices?: readonly Slice[];
  stops: PreparedStops | null;
}

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
  private index = new Map<string, Watched>();
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
    const markOf = (instrument: string) => this.markOf(instrument, prices)?.price;
    const needBase: { copierId: string; traderId: string; pnl: string }[] = [];
    let acted = 0;
    let seen = 0;
    for (const entry of this.index.values()) {
      // the fan-out shares this thread: a long list must not hold a signal up
      if (++seen % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      const { traderId, copierId, key } = entry;
      // the follow as it is now: one changed since the index was built is read with its new settings
      const follow = this.book.followOf(traderId, copierId);
      const copier = this.book.copier(copierId);
      if (!follow || !copier || !hasStops(follow)) continue;
      const prepared = this.prepared(entry, follow, copier);
      const closingUntil = this.closing.get(key);
      if (closingUntil !== undefined) {
        if (prepared !== null && closingUntil > now) continue;
        this.closing.delete(key);
      }
      let dayBase: Fx | undefined;
      if (needsDayBase(follow)) {
        dayBase = this.bases.get(key);
        if (dayBase === undefined) {
          const pnl = pairPnl(pairSlices(copier.slices, traderId), (i) => this.markOf(i, prices));
          if (pnl !== undefined) needBase.push({ copierId, traderId, pnl: fxStr(pnl) });
        }
      }
      if (prepared === null) continue;
      for (const t of triggersAt(prepared, markOf, day, dayBase)) {
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

  /**
   * The follow's stops prepared (domain/stops.ts), again only when the follow or the
   * copier's slices are other objects than last time (the book replaces both on change).
   */
  private prepared(entry: Watched, follow: FollowSettings, copier: CopierEntry): PreparedStops | null {
    if (entry.follow === follow && entry.slices === copier.slices) return entry.stops;
    entry.follow = follow;
    entry.slices = copier.slices;
    entry.stops = prepareStops(
      follow,
      copier.slices,
      (instrument) => this.termsOf(instrument),
      (instrument) => copier.leverage?.get(instrument) ?? ownLeverage(follow),
    );
    return entry.stops;
  }

  /** The follows (active or paused) that have a stop, each keeping what was prepared of it; requests acted on long ago forgotten. */
  private reindex(now: number): void {
    const index = new Map<string, Watched>();
    for (const traderId of this.book.leadIds()) {
      for (const f of this.book.followsOf(traderId)) {
        if (!hasStops(f)) continue;
        const key = pairKey(f.copierId, traderId);
        index.set(key, this.index.get(key) ?? { key, traderId, copierId: f.copierId, stops: null });
      }
    }
    this.index = index;
    this.indexedMs = now;
    for (const [id, until] of this.fired) if (until <= now) this.fired.delete(id);
  }

  private termsOf(instrument: string): InstrumentTerms | undefined {
    const rules = this.book.rulesOf(instrument);
    return rules && { contractSize: fx(rules.contractSize), tick: fx(rules.tickSize) };
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
