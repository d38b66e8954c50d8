import { createHash } from 'node:crypto';
import type { FilledOrder, PositionsView } from '../../clients/exchange-wire.js';
import type { Logger } from '../../infra/log.js';
import type { Turns } from '../../infra/turns.js';
import { clientOrderId } from '../domain/copy-order.js';
import { type DriftKind, planRepair, type RepairOutcome, repairKey, signalDrift } from '../domain/drift.js';
import type { Market } from '../domain/sizing.js';
import type { CopierBook } from '../fanout/book.js';
import { type Fanout, orderOfFill } from '../fanout/fanout.js';
import { isApproved } from '../leads/lead-store.js';
import type { DriftPayload } from '../notices/kinds.js';
import type { DriftStore, SignalCandidate } from './drift-store.js';
import { accountOf, PositionCheck } from './position-drift.js';

/** What drift repair needs of the exchange: what it holds under a client order id, and positions. */
export interface DriftExchange {
  lookupOrders(refs: readonly { account: string; clientOrderId: string }[]): Promise<(FilledOrder | null)[]>;
  positions(account: string): Promise<PositionsView>;
}

/** What drift repair tells (metrics). */
export interface DriftObserver {
  /** a drift acted on: its kind and what became of it */
  repaired(
    kind: DriftKind,
    outcome: RepairOutcome | 'placed' | 'recorded' | 'reported' | 'adopted' | 'detached',
  ): void;
  /** the reports open after a sweep */
  unrepaired(open: number): void;
}

/** A drift the copier (or an operator) must be told of: written once per report (notices.ts). */
export type DriftNotify = (copierId: string, dedupKey: string, payload: DriftPayload) => Promise<unknown>;

/** signals finished this close to a look may not have been visible to it: looked at again */
const SETTLE_SLACK_MS = 5000;

/**
 * Drift repair of one copier at a time (domain/drift.ts says what is a drift and what is
 * done about it). A sweep of a batch first looks without holding anything: the signals
 * whose copy for a copier drifted (MySQL) and its positions against its slices. Only a
 * copier with something to look at gets a turn (Turns, shared with the fan-out: no signal
 * is being fanned out meanwhile), in which everything is read again and repaired through
 * the fan-out's own order path (Fanout.recordRepair), so that what the first look saw with
 * a signal's fills in flight is not acted on.
 */
export class DriftRepair {
  constructor(
    private readonly deps: {
      book: CopierBook;
      fanout: Fanout;
      exchange: DriftExchange;
      store: DriftStore;
      turns: Turns;
      market: (instrument: string) => Market;
      /** signals older than this are not looked at again */
      lookbackMs: number;
      notify?: DriftNotify;
      observer?: DriftObserver;
      log: Logger;
    },
  ) {
    this.positions = new PositionCheck({ ...deps, report: (copierId, p) => this.report(copierId, p) });
  }

  private readonly positions: PositionCheck;

  /**
   * Per copier, the time from which finished signals are looked at again: what finished
   * before its last settled look has its fill, its skip or its repair, and a signal's
   * records never go away. Empty at start (a new holder looks over the whole lookback once);
   * a copier whose look left something unsettled keeps its time.
   */
  private readonly settledUntil = new Map<string, number>();

  /**
   * Per copier, its position drifts as the previous look saw them (outside the turn a fill
   * may be in flight: at the exchange, not yet in the book); outside a round asked for at
   * once, a copier gets its turn for its positions only when two looks in a row saw the same.
   */
  private readonly seen = new Map<string, string>();

  /**
   * Looks at a batch of copiers and repairs, each in its turn, those that drifted.
   * `confirm`: a position drift must be seen twice in a row (the periodic rounds, while
   * signals flow); a round asked for at once (a takeover, a reconnect) acts on one look.
   */
  async sweep(copierIds: readonly string[], confirm = false): Promise<void> {
    const { store, turns, log } = this.deps;
    // a signal finishing while this look runs is looked at again next time
    const settled = Date.now() - SETTLE_SLACK_MS;
    const since = Date.now() - this.deps.lookbackMs;
    const doneSince = Math.min(...copierIds.map((c) => this.settledUntil.get(c) ?? 0));
    const candidates = new Set((await store.candidates(copierIds, since, doneSince)).map((c) => c.copierId));
    const reported = await store.withOpenPositionReports(copierIds);
    const followed = await store.followed(copierIds);
    for (const copierId of copierIds) {
      let look = candidates.has(copierId);
      if (!look) {
        let drifts: string;
        try {
          const found = await this.positions.drifts(copierId, followed.get(copierId) ?? []);
          drifts = JSON.stringify(found.map((d) => [d.key, d.drift.sliceQty, d.drift.exchangeQty]));
        } catch (err) {
          log.warn({ err, copierId }, 'drift: positions not read');
          continue;
        }
        const before = this.seen.get(copierId);
        this.seen.set(copierId, drifts);
        // a report to refresh or resolve, or a drift that held still since the last look
        look = drifts === '[]' ? reported.has(copierId) : !confirm || drifts === before;
      }
      if (!look) {
        this.settledUntil.set(copierId, settled);
        continue;
      }
      try {
        if (await turns.run(() => this.repairCopier(copierId))) this.settledUntil.set(copierId, settled);
      } catch (err) {
        log.error({ err, copierId }, 'drift repair of a copier failed; tried again next sweep');
      }
    }
  }

  /**
   * In the fan-out's turn: the copier's lost or partial copies repaired, then its positions
   * compared. Whether every signal drift was settled (recorded, placed or reported).
   */
  async repairCopier(copierId: string): Promise<boolean> {
    const since = Date.now() - this.deps.lookbackMs;
    const doneSince = this.settledUntil.get(copierId) ?? 0;
    let settled = true;
    for (const c of await this.deps.store.candidates([copierId], since, doneSince)) {
      if (!(await this.repairSignal(c))) settled = false;
    }
    await this.positions.compare(copierId);
    return settled;
  }

  /** Whether the drift was settled; false: left for a later look (the book lacks what it needs). */
  private async repairSignal(c: SignalCandidate): Promise<boolean> {
    const { book, fanout, exchange, store, log, observer } = this.deps;
    const s = c.signal;
    const kind = signalDrift(s, c.record);
    if (kind === null) return true;
    const copier = book.copier(c.copierId);
    const follow = book.followOf(s.traderId, c.copierId);
    const lead = book.leadOf(s.traderId);
    const rules = book.rulesOf(s.instrument);
    if (!copier || !follow || !lead || !rules) {
      log.warn(
        { signalKey: c.signalKey, copierId: c.copierId },
        'drift: copier, follow, lead or rules not in the book',
      );
      return false;
    }
    const key = repairKey(c.signalKey);
    const standing = book.standingOf(s.traderId);
    if (standing && !isApproved(standing)) {
      // as the fan-out does now: a suspended lead's signals are copied to nobody, closes included
      const reason = standing.status === 'suspended' ? 'lead-suspended' : 'lead-not-approved';
      const skip = {
        signalId: key,
        copierId: c.copierId,
        traderId: s.traderId,
        instrument: s.instrument,
        reason,
        detail: `${s.traderId} is ${standing.status}`,
      } as const;
      await fanout.recordRepair(key, [], [skip], new Map(), '0', s.price);
      observer?.repaired(kind, 'skipped');
      return true;
    }
    const account = accountOf(copier, follow);
    const originalId = clientOrderId(c.signalKey, c.copierId);
    const repairId = clientOrderId(key, c.copierId);
    // before anything is placed: what the exchange holds under the signal's own id, and the repair's
    const [original, placed] = await exchange.lookupOrders([
      { account, clientOrderId: originalId },
      { account, clientOrderId: repairId },
    ]);
    const share = lead.profitShareRatio;
    if (kind !== 'partial-fill' && original) {
      // the exchange filled the copy and tradeflow never recorded it: recorded now, nothing placed
      const under = (await store.hasRecord(c.copierId, c.signalKey)) ? key : c.signalKey;
      const order = orderOfFill(s, under, follow, original);
      await fanout.recordRepair(under, [order], [], new Map([[originalId, original]]), share, s.price);
      observer?.repaired('unrecorded-fill', 'recorded');
      return true;
    }
    if (placed) {
      // placed by an earlier repair that did not live to record it (a crash): recorded, not placed again
      const order = orderOfFill(s, key, follow, placed);
      await fanout.recordRepair(key, [order], [], new Map([[repairId, placed]]), share, s.price);
      observer?.repaired(kind, 'recorded');
      return true;
    }
    if (kind === 'partial-fill' && !original) {
      log.warn(
        { signalKey: c.signalKey, copierId: c.copierId },
        'drift: a partial fill the exchange does not hold',
      );
      return false;
    }
    const plan = planRepair({
      kind,
      signal: s,
      lead,
      rules,
      market: this.deps.market(s.instrument),
      follow,
      account: book.snapshot(copier),
      slices: copier.slices,
      remainder: original?.remainingQty,
      superseded: kind === 'missed-open' ? await store.closedSince(s, c.seq) : false,
    });
    // what this signal's repair could not do, reported on the copier's drift list
    const reportSignal = (detail: string) =>
      this.report(c.copierId, {
        kind,
        driftKey: key,
        traderId: s.traderId,
        instrument: s.instrument,
        side: s.side,
        signalKey: c.signalKey,
        sliceQty: null,
        exchangeQty: null,
        detail,
      });
    if (plan.action === 'order') {
      await fanout.recordRepair(key, [plan.order], [], new Map(), share, s.price);
      observer?.repaired(kind, 'placed');
      // what the exchange did not do (refused it; canceled an open at its bound) is reported,
      // not tried again; a partial fill's remainder not filled leaves the slice at what filled
      const outcome = await store.outcomeOf(c.copierId, key);
      if (kind !== 'partial-fill' && outcome.filled === false) {
        await reportSignal(`repair not filled: ${outcome.why}`);
        observer?.repaired(kind, 'reported');
      }
      return true;
    }
    await fanout.recordRepair(key, [], [plan.skip], new Map(), share, s.price);
    observer?.repaired(kind, plan.outcome);
    if (plan.report) {
      await reportSignal(plan.skip.detail);
      observer?.repaired(kind, 'reported');
    }
    return true;
  }

  private async report(copierId: string, p: DriftPayload): Promise<void> {
    const firstMs = await this.deps.store.report({
      copierId,
      driftKey: p.driftKey,
      kind: p.kind,
      traderId: p.traderId,
      instrument: p.instrument,
      side: p.side,
      sliceQty: p.sliceQty,
      exchangeQty: p.exchangeQty,
      detail: p.detail,
    });
    // once per report: the same report seen again each sweep is one notice
    const raw = `drift:${copierId}:${p.driftKey}:${firstMs}`;
    const dedupKey =
      raw.length <= 255 ? raw : `drift:h:${createHash('sha256').update(raw).digest('base64url')}`;
    await this.deps.notify?.(copierId, dedupKey, p);
  }
}
