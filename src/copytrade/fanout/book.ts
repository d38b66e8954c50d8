import type { AccountSnapshot, MarginKind } from '../domain/account.js';
import type { CopyOrder } from '../domain/copy-order.js';
import { type Fx, fx, fxOfNumber, fxStr, ONE } from '../domain/fixed.js';
import type { InstrumentRules } from '../domain/instrument.js';
import type { FollowSettings, LeadSettings } from '../domain/settings.js';
import type { TraderSignal } from '../domain/signal.js';
import {
  applyCloseFill,
  applyOpenFill,
  closeQtyFx,
  detachSlice,
  emptySlice,
  type Fill,
  findSlice,
  keptTraderId,
  type Slice,
  sliceId,
} from '../domain/slices.js';
import { LEGACY_STANDING, LeadCache, type LeadRecord, type LeadStanding } from '../leads/lead-store.js';

/** A copier as the fan-out holds it: its exchange account, balance and every slice it has. */
export interface CopierEntry {
  copierId: string;
  accountId: string;
  marginKind: MarginKind;
  /** USDT available for margin (fixed.ts units), kept current from fills between refreshes */
  available: Fx;
  slices: Slice[];
  /** profit share accrued to each trader from this copier's slices, by sliceId (canonical decimal strings) */
  shares: Map<string, string>;
  /** what sizing reads, rebuilt when the balance moves */
  snapshot?: AccountSnapshot;
  /**
   * the leverage the exchange holds for each instrument of the account (read at load, then
   * as each fill reports it): what a slice's take profit and stop loss are a ratio of (stops.ts)
   */
  leverage?: Map<string, number>;
}

/** The result of applying a fill to the book: the slice as it now is, and a close's PnL. */
export interface SliceChange {
  slice: Slice;
  pnl: string | null;
}

/**
 * Everything the fan-out reads between a signal and its orders, in memory: leads, follows
 * by trader, copiers with their balances and slices. Loaded at start, changed by the
 * fan-out's own fills and by follow changes announced on pub/sub; never read from MySQL on
 * the hot path.
 */
export class CopierBook {
  /** the leads, shared with the ingress's lead table (one cache of leads) */
  constructor(readonly leads: LeadCache = new LeadCache()) {}

  private readonly follows = new Map<string, Map<string, FollowSettings>>();
  private readonly stopped = new Map<string, Map<string, FollowSettings>>();
  private readonly copiers = new Map<string, CopierEntry>();
  private readonly rules = new Map<string, InstrumentRules>();
  /** the traders each copier follows (any status): what a reload of the copier may have to drop */
  private readonly followedBy = new Map<string, Set<string>>();

  /** How much the book holds (metrics): leads, follows that copy (active or paused), copiers. */
  size(): { leads: number; follows: number; copiers: number } {
    let follows = 0;
    for (const byCopier of this.follows.values()) follows += byCopier.size;
    return { leads: this.leads.size, follows, copiers: this.copiers.size };
  }

  setRules(r: InstrumentRules): void {
    this.rules.set(r.instrument, r);
  }

  /** The instruments the book has rules for (the exchange's). */
  instruments(): string[] {
    return [...this.rules.keys()];
  }

  rulesOf(instrument: string): InstrumentRules | undefined {
    return this.rules.get(instrument);
  }

  /** A lead's settings and standing (approved unless said otherwise); it trades from its own id's account unless said. */
  setLead(lead: LeadSettings, standing: LeadStanding = LEGACY_STANDING, account = lead.traderId): void {
    this.leads.set({ settings: lead, standing, account });
  }

  leadOf(traderId: string): LeadSettings | undefined {
    return this.leads.get(traderId)?.settings;
  }

  /** Whether the lead's signals are copied (approved), and its level, visibility and minimum. */
  standingOf(traderId: string): LeadStanding | undefined {
    return this.leads.get(traderId)?.standing;
  }

  leadRecord(traderId: string): LeadRecord | undefined {
    return this.leads.get(traderId);
  }

  /** A lead whose row is gone: its signals find nobody to copy. */
  removeLead(traderId: string): void {
    this.leads.remove(traderId);
  }

  /** The traders the book has lead settings of. */
  leadIds(): string[] {
    return this.leads.ids();
  }

  copierIds(): string[] {
    return [...this.copiers.keys()];
  }

  /** A copier whose row is gone, with its follows. */
  removeCopier(copierId: string): void {
    this.copiers.delete(copierId);
    this.setFollowsOf(copierId, []);
  }

  /** The copier's follows as they now are: those not among `follows` (rows deleted) leave the book. */
  setFollowsOf(copierId: string, follows: readonly FollowSettings[]): void {
    const now = new Set(follows.map((f) => f.traderId));
    for (const traderId of this.followedBy.get(copierId) ?? []) {
      if (now.has(traderId)) continue;
      this.follows.get(traderId)?.delete(copierId);
      this.stopped.get(traderId)?.delete(copierId);
    }
    this.followedBy.delete(copierId);
    for (const f of follows) this.setFollow(f);
  }

  setCopier(c: CopierEntry): void {
    this.copiers.set(c.copierId, c);
  }

  copier(copierId: string): CopierEntry | undefined {
    return this.copiers.get(copierId);
  }

  /** Adds or replaces a follow; a stopped one is kept apart (a signal delivered again may still owe it a fill). */
  setFollow(f: FollowSettings): void {
    const [into, outOf] =
      f.status === 'stopped' ? [this.stopped, this.follows] : [this.follows, this.stopped];
    outOf.get(f.traderId)?.delete(f.copierId);
    let byCopier = into.get(f.traderId);
    if (!byCopier) {
      byCopier = new Map();
      into.set(f.traderId, byCopier);
    }
    byCopier.set(f.copierId, f);
    let traders = this.followedBy.get(f.copierId);
    if (!traders) {
      traders = new Set();
      this.followedBy.set(f.copierId, traders);
    }
    traders.add(f.traderId);
  }

  /** The follows of a trader that copy (active or paused), in a stable order; with the stopped ones if asked. */
  followsOf(traderId: string, withStopped = false): FollowSettings[] {
    const live = [...(this.follows.get(traderId)?.values() ?? [])];
    return withStopped ? [...live, ...(this.stopped.get(traderId)?.values() ?? [])] : live;
  }

  /** A copier's follow of a trader, stopped or not. */
  followOf(traderId: string, copierId: string): FollowSettings | undefined {
    return this.follows.get(traderId)?.get(copierId) ?? this.stopped.get(traderId)?.get(copierId);
  }

  /** The snapshot sizing reads: the balance for margin in USDT (adapter rule, account.ts). */
  snapshot(c: CopierEntry): AccountSnapshot {
    if (!c.snapshot) {
      const usdt = fxStr(c.available);
      c.snapshot = { marginKind: c.marginKind, balances: { USDT: { available: usdt, usdtValue: usdt } } };
    }
    return c.snapshot;
  }

  /** Sizing took `order.margin` from the balance: hold it before the next copy of this account. */
  reserve(order: CopyOrder): void {
    this.move(order.copierId, -fx(order.margin));
  }

  /** An order the exchange refused: its reservation goes back. */
  release(order: CopyOrder): void {
    this.move(order.copierId, fx(order.margin));
  }

  /**
   * The exchange answered: the slice moves by the fill, the balance by what it did not
   * reserve; margins at the leverage the exchange applied to the fill. A fill `inBalance`
   * (applied by the exchange before the book read the copier's balance from it: an earlier
   * holder's order, found again on a redelivery) is already in that balance: only its
   * reservation, if any, goes back.
   */
  fill(order: CopyOrder, fill: Fill, leverage: number, inBalance = false): SliceChange {
    const c = this.copiers.get(order.copierId);
    if (!c) throw new Error(`copier ${order.copierId} is not in the book`);
    const rules = this.rules.get(order.instrument);
    if (!rules) throw new Error(`no rules for ${order.instrument}`);
    const key = {
      copierId: c.copierId,
      traderId: order.traderId,
      instrument: order.instrument,
      side: order.side,
    };
    const before = findSlice(c.slices, key.traderId, key.instrument, key.side) ?? emptySlice(key);
    // the filled contracts valued at `price`, as margin at this leverage: qty × size × price / leverage
    const contracts = fx(fill.qty) * fx(rules.contractSize);
    const margin = (price: string) => (contracts * fx(price)) / (ONE * fxOfNumber(leverage));
    let change: SliceChange;
    if (order.action === 'open') {
      change = { slice: applyOpenFill(before, fill), pnl: null };
      // the reservation estimated margin + fee; the true ones replace the estimate
      this.move(c.copierId, fx(order.margin) - (inBalance ? 0n : margin(fill.price) + fx(fill.fee)));
    } else {
      const closed = applyCloseFill(before, fill, rules.contractSize);
      change = { slice: closed.slice, pnl: closed.pnl };
      const freed = margin(before.avgEntryPrice) + fx(closed.grossPnl) - fx(fill.fee);
      this.move(c.copierId, fx(order.margin) + (inBalance ? 0n : freed));
    }
    replaceSlice(c, before, change.slice);
    if (c.leverage === undefined) c.leverage = new Map();
    c.leverage.set(order.instrument, leverage);
    return change;
  }

  /**
   * The trader was liquidated (`traderQty` of `positionBefore`) and its lead keeps copiers'
   * slices: that fraction of the copier's slice on (instrument, side), rounded down to the
   * step as a close would be, moves to the copier's kept slice. Returns the changed slices
   * (none if the copier held nothing there).
   */
  detach(copierId: string, liquidation: TraderSignal): Slice[] {
    const c = this.copiers.get(copierId);
    const rules = this.rules.get(liquidation.instrument);
    const { traderId, instrument, side } = liquidation;
    const slice = c && findSlice(c.slices, traderId, instrument, side);
    if (!c || !rules || !slice) return [];
    const q = closeQtyFx(
      fx(slice.qty),
      fx(liquidation.qty),
      fx(liquidation.positionBefore),
      fx(rules.qtyStep),
    );
    if (q === 0n) return [];
    const kept = findSlice(c.slices, keptTraderId(traderId), instrument, side);
    const moved = detachSlice(slice, kept, q);
    replaceSlice(c, slice, moved.left);
    replaceSlice(c, kept, moved.kept);
    return [moved.left, moved.kept];
  }

  /** A slice drift repair set to what the exchange holds (a position changed by hand): it replaces the copier's slice of its key. */
  setSlice(slice: Slice): void {
    const c = this.copiers.get(slice.copierId);
    if (!c) return;
    replaceSlice(c, findSlice(c.slices, slice.traderId, slice.instrument, slice.side), slice);
  }

  /** Adds `share` to what the slice's trader has accrued from it; returns the new total. */
  shareAccrued(slice: Slice, share: string): string {
    const c = this.copiers.get(slice.copierId);
    if (!c) throw new Error(`copier ${slice.copierId} is not in the book`);
    const id = sliceId(slice);
    const prior = c.shares.get(id) ?? '0';
    // most fills accrue nothing (every open, every close at a loss)
    if (share === '0') return prior;
    const total = fxStr(fx(prior) + fx(share));
    c.shares.set(id, total);
    return total;
  }

  private move(copierId: string, by: Fx): void {
    const c = this.copiers.get(copierId);
    if (!c || by === 0n) return;
    c.available += by;
    c.snapshot = undefined;
  }
}

/** Puts `next` where `prior` was among the copier's slices (or adds it), in a new array: sizing may hold the old one. */
function replaceSlice(c: CopierEntry, prior: Slice | undefined, next: Slice): void {
  const slices = c.slices.slice();
  const i = prior === undefined ? -1 : slices.indexOf(prior);
  if (i < 0) slices.push(next);
  else slices[i] = next;
  c.slices = slices;
}
