import type {
  CanceledOrder,
  FilledOrder,
  InstrumentId,
  OrderOutcome,
  OrderResult,
  PlaceOrderRequest,
} from '../../clients/exchange-wire.js';
import type { Logger } from '../../infra/log.js';
import {
  type CloseOutRequest,
  closeOutKeyPrefix,
  closeOutOrder,
  closeOutRequestKey,
  slicesToClose,
} from '../domain/close-out.js';
import { type CopyOrder, clientOrderId } from '../domain/copy-order.js';
import { fx } from '../domain/fixed.js';
import { profitShare } from '../domain/profit-share.js';
import type { FollowSettings } from '../domain/settings.js';
import type { TraderSignal } from '../domain/signal.js';
import { type Market, type PreparedSignal, prepareSignal, sizeCopy } from '../domain/sizing.js';
import type { CopySkip } from '../domain/skip-reasons.js';
import { type Slice, sliceId } from '../domain/slices.js';
import { leftUnfilled, unfilledSkip } from '../domain/unfilled.js';
import type { SignalEntry } from '../ingress/codec.js';
import { isApproved } from '../leads/lead-store.js';
import type { FanoutObserver } from '../metrics.js';
import type { CopierBook } from './book.js';
import type { BatchRecord, CopyStore, PlacedOrder } from './copy-store.js';
import { fillsOf, findParts, planParts, unfilledReason } from './order-parts.js';
import type { RefusalPause } from './refusal-pause.js';

/** What the fan-out needs of the exchange: batches, and (recovery only) what it already did. */
export interface FanoutExchange {
  /** opens are IOC limit orders (canceled beyond their limit), closes market orders */
  placeOrders(orders: readonly PlaceOrderRequest[]): Promise<OrderOutcome[]>;
  /** the stored result of each (account, clientOrderId), or null where there is none */
  lookupOrders(refs: readonly { account: string; clientOrderId: string }[]): Promise<(OrderResult | null)[]>;
}

export interface FanoutResult {
  signalKey: string;
  orders: number;
  skips: number;
}

/** A signal no copier can be sized for (its figures make no sense): dead-lettered, not retried. */
export class BadSignal extends Error {
  override readonly name = 'BadSignal';
  constructor(
    readonly signalKey: string,
    reason: string,
  ) {
    super(`signal ${signalKey}: ${reason}`);
  }
}

/** A signal's id among all traders' (client order ids are `{signalKey}:{copierId}` per account). */
export const signalKeyOf = (traderId: string, signalId: string): string => `${signalId}@${traderId}`;

/**
 * One signal to every copier of its trader: size each (pure, from the book in memory),
 * place the orders in batches, then record each batch (orders, skips, slices) in one MySQL
 * round trip and update the book. A signal delivered again (after a crash) skips copiers
 * already recorded and asks the exchange what it did for the others before placing
 * anything, so nothing is placed twice even if sizing would now come out differently.
 */
export class Fanout {
  constructor(
    private readonly book: CopierBook,
    private readonly exchange: FanoutExchange,
    private readonly store: CopyStore,
    private readonly market: (instrument: string) => Market,
    private readonly opts: {
      batchSize: number;
      holdsRole?: () => boolean;
      observer?: FanoutObserver;
      /** counts copies the exchange refuses in a row, pausing a follow at the limit */
      refusals?: RefusalPause;
      /** reads the instruments' rules again: the exchange refused an order as over its maximum */
      rulesStale?: () => Promise<void>;
    },
    private readonly log: Logger,
    /** told each copier's order or skip once recorded; the message is built only if asked for */
    private readonly notify?: (copierId: string, message: () => unknown) => void,
  ) {}

  private stopping = false;
  /**
   * Client order ids this process sent and got no answer for (their reservation went back):
   * a fill of one found later is not yet in the book's balance. Any other fill found on a
   * redelivery was an earlier holder's, applied before this book read the balance.
   */
  private readonly unanswered = new Set<string>();

  /**
   * This process is giving the fan-out up (stopping, or it lost the role): from now on it
   * writes nothing, its book being about to go stale; what it has not recorded is left to
   * the next holder, which asks the exchange what was filled.
   */
  stop(): void {
    this.stopping = true;
  }

  private mayWrite(): void {
    // for good: the book may already hold fills this process will never record
    if (!this.stopping && this.opts.holdsRole?.() === false) this.stop();
    if (this.stopping) throw new Error('the fan-out is stopping or lost its role: left to the next holder');
  }

  async run(entry: SignalEntry, redelivered: boolean): Promise<FanoutResult> {
    const s = entry.signal;
    const signalKey = signalKeyOf(s.traderId, s.signalId);
    const lead = this.book.leadOf(s.traderId);
    const rules = this.book.rulesOf(s.instrument);
    const share = lead?.profitShareRatio ?? '0';
    const skips: CopySkip[] = [];
    // each batch's outcome, held as a value at once: a batch failing while later ones are
    // still being sized must not be an unhandled rejection
    const inFlight: Promise<unknown>[] = [];
    const start = (p: Promise<void>) =>
      inFlight.push(
        p.then(
          () => null,
          (err: unknown) => err ?? 'failed',
        ),
      );
    let batch: CopyOrder[] = [];
    let orders = 0;
    // orders the exchange canceled whole (recorded as skips) and remainders canceled (skips too)
    const unfilled = { canceled: 0, remainders: 0 };
    const send = async (known: Map<string, OrderResult>) => {
      orders += batch.length;
      start(this.placeAndRecord(signalKey, batch, [], known, share, null, s.price, unfilled));
      batch = [];
      await new Promise((r) => setImmediate(r));
    };
    const standing = this.book.standingOf(s.traderId);
    if (lead && standing && !isApproved(standing)) {
      // suspended or not approved: every copier is told why, nothing is placed
      let follows = this.book.followsOf(s.traderId).filter((f) => f.status !== 'stopped');
      if (redelivered) {
        const recorded = await this.store.recordedCopiers(signalKey);
        follows = follows.filter((f) => !recorded.has(f.copierId));
      }
      const reason = standing.status === 'suspended' ? 'lead-suspended' : 'lead-not-approved';
      for (const f of follows) {
        if (!this.book.copier(f.copierId)) continue;
        skips.push({
          signalId: signalKey,
          copierId: f.copierId,
          traderId: s.traderId,
          instrument: s.instrument,
          reason,
          detail: `${s.traderId} is ${standing.status}`,
        });
      }
      start(this.placeAndRecord(signalKey, [], skips, new Map(), share));
    } else if (lead && rules) {
      // a missing price is retried, not a bad signal
      const market = this.market(s.instrument);
      let prepared: PreparedSignal;
      try {
        prepared = prepareSignal({ ...s, signalId: signalKey }, lead, rules, market);
      } catch (err) {
        // finished before it is dead-lettered, or every start would queue it again (it is
        // acked, and the dead-letter deletes it from the stream); a crash in between runs it
        // again from the stream entry, still pending, and dead-letters it then
        const counts = redelivered ? await this.store.countsOf(signalKey) : { orders: 0, skips: 0 };
        this.mayWrite();
        await this.store.signalDone(
          signalKey,
          s.traderId,
          JSON.stringify(s),
          entry.receivedMs,
          counts,
          'dead-lettered',
        );
        throw new BadSignal(signalKey, (err as Error).message);
      }
      // a delivery again also looks at follows stopped since: an earlier delivery may have filled them
      let follows = this.book.followsOf(s.traderId, redelivered);
      // a delivery again: copiers already recorded are done; for the others, what the
      // exchange filled before is what happened, whatever sizing would say now
      let known = new Map<string, OrderResult>();
      if (redelivered) {
        const recorded = await this.store.recordedCopiers(signalKey);
        follows = follows.filter((f) => !recorded.has(f.copierId));
        known = await this.alreadyPlaced(signalKey, follows);
      }
      for (const follow of follows) {
        const copier = this.book.copier(follow.copierId);
        if (!copier) continue;
        const filled = known.get(clientOrderId(signalKey, follow.copierId));
        if (filled?.status === 'filled') {
          batch.push(orderOfFill(s, signalKey, follow, filled));
        } else if (follow.status === 'stopped') {
          continue;
        } else {
          const r = sizeCopy(prepared, {
            follow,
            account: this.book.snapshot(copier),
            slices: copier.slices,
          });
          if (r.kind === 'skip') skips.push(r.skip);
          else {
            this.book.reserve(r.order);
            batch.push(r.order);
          }
        }
        // the exchange works on a batch while the next is sized
        if (batch.length >= this.opts.batchSize) await send(known);
      }
      orders += batch.length;
      // a liquidation the lead keeps: the skipped copiers' slices are detached as the skips are recorded
      const kept = s.liquidation === true && lead.onLiquidation === 'keep' ? s : null;
      start(this.placeAndRecord(signalKey, batch, skips, known, share, kept, s.price, unfilled));
    } else {
      this.log.warn(
        { signalKey, lead: !!lead, rules: !!rules },
        'signal of no lead trader or instrument: nobody copies',
      );
    }
    // every batch settles before a failure is reported: a retry must not race a batch in flight
    const failed = (await Promise.all(inFlight)).find((e) => e !== null);
    if (failed !== undefined) throw failed;
    // a delivery again counts what earlier deliveries recorded too
    const counts = redelivered
      ? await this.store.countsOf(signalKey)
      : { orders: orders - unfilled.canceled, skips: skips.length + unfilled.canceled + unfilled.remainders };
    this.mayWrite();
    await this.store.signalDone(signalKey, s.traderId, JSON.stringify(s), entry.receivedMs, counts);
    return { signalKey, ...counts };
  }

  /**
   * A copier's close-out (it stopped following and asked for its slices closed, or one of
   * its stops triggered, protection/stop-watcher.ts): each of its open slices of the trader
   * (or the one the request names) closed whole, one order after the other (in one-way mode
   * each close changes the net the next one reads). Run again after a crash, a slice
   * already recorded is done and one placed but not recorded is taken from the exchange.
   */
  async closeOut(r: CloseOutRequest, redelivered: boolean): Promise<FanoutResult> {
    const requestKey = closeOutRequestKey(r);
    const follow = this.book.followOf(r.traderId, r.copierId);
    const copier = this.book.copier(r.copierId);
    if (follow && copier) {
      const ratio = this.book.leadOf(r.traderId)?.profitShareRatio ?? '0';
      // a stop's trigger (stops.ts) names the one slice it closes
      for (const slice of slicesToClose(copier.slices, r.traderId, r.slice)) {
        // a kept slice is no longer the trader's: no share of it
        const share = slice.traderId === r.traderId ? ratio : '0';
        const order = closeOutOrder(r.requestId, follow, slice, copier.slices);
        const key = order.signalId;
        let known = new Map<string, OrderResult>();
        if (redelivered) {
          if ((await this.store.recordedCopiers(key)).has(r.copierId)) continue;
          known = await this.alreadyPlaced(key, [follow]);
        }
        await this.placeAndRecord(key, [order], [], known, share);
      }
    } else {
      this.log.warn(r, 'close-out of a copier or follow not in the book: nothing to close');
    }
    // counted from what is recorded: a delivery again no longer sees the slices closed before
    const orders = await this.store.ordersUnder(closeOutKeyPrefix(r.requestId));
    this.mayWrite();
    await this.store.signalDone(requestKey, r.traderId, JSON.stringify(r), r.requestedMs, {
      orders,
      skips: 0,
    });
    return { signalKey: requestKey, orders, skips: 0 };
  }

  /**
   * A drift repair's orders and skips under its own key (src/copytrade/drift/), placed and
   * recorded as a signal's are: `known` holds what the exchange already filled under an
   * order's client order id (then it is recorded, not placed), and an order's reservation
   * is taken here. The caller runs it between signals (in the fan-out's turn).
   */
  async recordRepair(
    key: string,
    orders: CopyOrder[],
    skips: CopySkip[],
    known: Map<string, OrderResult>,
    shareRatio: string,
    leadPrice: string | null,
  ): Promise<void> {
    for (const o of orders) if (!known.has(o.clientOrderId)) this.book.reserve(o);
    await this.placeAndRecord(key, orders, skips, known, shareRatio, null, leadPrice);
  }

  /** What the exchange holds under each follow's client order id, asked in batches. */
  private async alreadyPlaced(
    signalKey: string,
    follows: readonly FollowSettings[],
  ): Promise<Map<string, OrderResult>> {
    const found = new Map<string, OrderResult>();
    const accounts = new Map<string, string>();
    for (let i = 0; i < follows.length; i += this.opts.batchSize) {
      const refs = follows.slice(i, i + this.opts.batchSize).map((f) => ({
        account: this.accountFor(f.copierId, f.account),
        clientOrderId: clientOrderId(signalKey, f.copierId),
      }));
      const results = await this.exchange.lookupOrders(refs);
      results.forEach((r, k) => {
        const ref = refs[k] as { account: string; clientOrderId: string };
        if (r) found.set(ref.clientOrderId, r);
        accounts.set(ref.clientOrderId, ref.account);
      });
    }
    // a copy placed as parts: the others under part 1's id, found as one (order-parts.ts)
    await findParts(
      found,
      accounts,
      (instrument) => this.book.rulesOf(instrument)?.maxQty,
      (refs) => this.exchange.lookupOrders(refs),
      this.opts.batchSize,
    );
    return found;
  }

  private accountOf(o: CopyOrder): string {
    return this.accountFor(o.copierId, o.account);
  }

  private accountFor(copierId: string, account: CopyOrder['account']): string {
    const base = this.book.copier(copierId)?.accountId ?? copierId;
    return account.type === 'main' ? base : `${base}/${account.subAccount}`;
  }

  private async placeAndRecord(
    signalKey: string,
    batch: CopyOrder[],
    skips: CopySkip[],
    known: Map<string, OrderResult>,
    shareRatio: string,
    /** a liquidation whose slices the lead keeps, in the batch holding the skips */
    liquidation: TraderSignal | null = null,
    /** the trader's fill price, named in the detail of what did not fill */
    leadPrice: string | null = null,
    /** counts what the exchange did not fill (recorded as skips, not orders) */
    unfilled: { canceled: number; remainders: number } = { canceled: 0, remainders: 0 },
  ): Promise<void> {
    const toPlace = batch.filter((o) => !known.has(o.clientOrderId));
    let placed: OrderOutcome[] = [];
    try {
      if (toPlace.length > 0) placed = await this.place(toPlace);
    } catch (err) {
      this.opts.observer?.batchFailed();
      // the run is retried as a delivery again, which asks the exchange what it did
      for (const o of batch) this.book.release(o);
      for (const o of toPlace) this.unanswered.add(o.clientOrderId);
      throw err;
    }
    const byId = new Map<string, OrderOutcome>(known);
    toPlace.forEach((o, i) => {
      const r = placed[i];
      if (r) byId.set(o.clientOrderId, r);
    });
    // orders the exchange had already (a signal entered twice): recorded ones stay as they
    // are; for the others, what the exchange did is the truth, even if sizing now differs
    const again = toPlace.filter((_, i) => {
      const r = placed[i];
      return (
        ((r?.status === 'filled' || r?.status === 'canceled') && r.replay) ||
        (r?.status === 'rejected' && r.code === 'IDEMPOTENCY_CONFLICT')
      );
    });
    let recorded = new Set<string>();
    try {
      if (again.length > 0) recorded = await this.store.recordedCopiers(signalKey);
    } catch (err) {
      for (const o of batch) this.book.release(o);
      throw err;
    }
    const conflicts = again.filter(
      (o) => !recorded.has(o.copierId) && byId.get(o.clientOrderId)?.status === 'rejected',
    );
    if (conflicts.length > 0) {
      const follows = conflicts.map((o) => ({ copierId: o.copierId, account: o.account }) as FollowSettings);
      try {
        for (const [id, r] of await this.alreadyPlaced(signalKey, follows)) byId.set(id, r);
      } catch (err) {
        for (const o of batch) this.book.release(o);
        throw err;
      }
    }
    // filled before this answer: by an earlier delivery (a replay, or found by the lookup)
    const earlier = new Set([...known.keys(), ...again.map((o) => o.clientOrderId)]);
    // a copy of the caller's skips: what did not fill is added to this batch's record only
    const record: BatchRecord = { signalKey, orders: [], skips: skips.slice(), slices: [] };
    const touched = new Map<string, { slice: Slice; shareAccrued: string }>();
    let staleRules = false;
    // only now that the exchange answered: a batch that failed is run again and must find the slices as they were
    if (liquidation !== null) {
      for (const k of skips) {
        if (k.reason !== 'kept-after-liquidation') continue;
        for (const slice of this.book.detach(k.copierId, liquidation)) {
          touched.set(sliceId(slice), { slice, shareAccrued: this.book.shareAccrued(slice, '0') });
        }
      }
    }
    for (const o of batch) {
      const r = byId.get(o.clientOrderId);
      if (recorded.has(o.copierId)) {
        this.book.release(o);
        // recorded as a skip, not an order: the signal's counts say so again
        if (r?.status === 'canceled') unfilled.canceled++;
        else if (r?.status === 'filled' && leftUnfilled(filledAnswer(r))) unfilled.remainders++;
        continue;
      }
      if (!r || r.status === 'rejected') {
        this.book.release(o);
        if (r?.code === 'QTY_ABOVE_MAX') staleRules = true;
        record.orders.push({ order: o, status: 'REJECTED', errorCode: r ? r.code : 'NO_RESULT' });
        continue;
      }
      if (r.status === 'canceled') {
        // nothing filled (an IOC open beyond its bound): no slice, the reservation goes back,
        // and the copier is told why, as for any skip
        this.book.release(o);
        record.skips.push(unfilledSkip(o, canceledAnswer(r), leadPrice) as CopySkip);
        unfilled.canceled++;
        continue;
      }
      // a partial fill: the slice takes what filled (below), the remainder is a skip with its reason
      const remainder = unfilledSkip(o, filledAnswer(r), leadPrice);
      if (remainder !== null) {
        record.skips.push(remainder);
        unfilled.remainders++;
      }
      try {
        // an earlier holder's fill is in the balance the book read from the exchange; one this
        // process sent before and never heard back of is not
        const inBalance = earlier.has(o.clientOrderId) && !this.unanswered.has(o.clientOrderId);
        // a copy split into parts (order-parts.ts) moves the slice part by part
        for (const { order, fill: f } of fillsOf(o, r)) {
          if (fx(f.qty) === 0n) continue;
          const fill = { qty: f.qty, price: f.price, fee: f.fee };
          const change = this.book.fill(order, fill, f.leverage, inBalance);
          const share =
            change.pnl !== null && fx(change.pnl) > 0n ? profitShare(change.pnl, shareRatio) : '0';
          const prior = this.book.shareAccrued(change.slice, share);
          touched.set(sliceId(change.slice), { slice: change.slice, shareAccrued: prior });
        }
        record.orders.push({ order: o, status: 'FILLED', fillQty: r.qty, fillPrice: r.price, fee: r.fee });
      } catch (err) {
        // a fill the book cannot take (a figure out of range): recorded for an operator, and
        // never applied twice by a retry
        this.log.error({ err, clientOrderId: o.clientOrderId }, 'exchange fill not applied to the slice');
        record.orders.push({
          order: o,
          status: 'FILLED',
          fillQty: r.qty,
          fillPrice: r.price,
          fee: r.fee,
          errorCode: 'NOT_APPLIED',
        });
      }
    }
    // answered now, whatever the answer: a later delivery finds it recorded
    for (const o of batch) this.unanswered.delete(o.clientOrderId);
    record.slices = [...touched.values()];
    // refusal streaks that move, written with the batch (none in a batch of fills)
    const streaks = this.opts.refusals?.changes(record.orders) ?? [];
    if (streaks.length > 0) record.refusals = streaks;
    // the book already holds these fills: the batch is written until it is, never run again
    // by this process, unless it stops (stop())
    for (let attempt = 1; ; attempt++) {
      this.mayWrite();
      try {
        await this.store.writeBatch(record);
        this.opts.observer?.recorded(record);
        break;
      } catch (err) {
        this.log.error({ err, signalKey, attempt }, 'copy batch not recorded; retrying');
        await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 2000)));
      }
    }
    if (this.notify) {
      for (const p of record.orders)
        this.notify(p.order.copierId, () => ({ type: 'order', signalKey, ...summary(p) }));
      for (const k of record.skips) {
        this.notify(k.copierId, () => ({ type: 'skip', signalKey, reason: k.reason, detail: k.detail }));
      }
    }
    // a maximum lowered since the book read it: the next signal splits at the new one
    if (staleRules && this.opts.rulesStale) {
      await this.opts.rulesStale().catch((err) => this.log.error({ err }, 'instrument rules not read again'));
    }
    // after the refused order's own message: a follow at the limit is paused, with its notice
    if (streaks.length > 0) await this.opts.refusals?.recorded(streaks);
  }

  /**
   * A batch to the exchange. A copy over its instrument's per-order maximum goes as its parts
   * (order-parts.ts), all in one request, answered back as one; when nothing is split (the
   * usual case) the batch goes as it is, in one request.
   */
  private async place(orders: CopyOrder[]): Promise<OrderOutcome[]> {
    const plan = planParts(orders, (i) => this.book.rulesOf(i), this.opts.batchSize);
    if (plan === null) return this.exchange.placeOrders(orders.map((o) => this.request(o)));
    // every request settles before a failure is reported: a retry must not race one in flight
    const settled = await Promise.allSettled(
      plan.requests.map((r) => this.exchange.placeOrders(r.map((o) => this.request(o)))),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return plan.answers(settled.map((r) => (r as PromiseFulfilledResult<OrderOutcome[]>).value));
  }

  /** An open with its bound as an IOC limit order; a close (no limitPrice) at market, always. */
  private request(o: CopyOrder): PlaceOrderRequest {
    const account = this.accountOf(o);
    const instrument = o.instrument as InstrumentId;
    // undefined is left out of the JSON: one-way orders name no position side
    const positionSide = o.posSide === 'net' ? undefined : o.posSide;
    if (o.limitPrice === undefined) {
      return {
        account,
        clientOrderId: o.clientOrderId,
        instrument,
        side: o.orderSide,
        positionSide,
        qty: o.qty,
        reduceOnly: o.reduceOnly,
      };
    }
    // one literal, not a spread of the market one: this runs for every copier's open
    return {
      account,
      clientOrderId: o.clientOrderId,
      instrument,
      side: o.orderSide,
      positionSide,
      qty: o.qty,
      reduceOnly: o.reduceOnly,
      type: 'limit',
      price: o.limitPrice,
      timeInForce: 'IOC',
    };
  }
}

const canceledAnswer = (r: CanceledOrder) => ({
  qty: r.qty,
  remainingQty: r.remainingQty,
  cancelReason: r.cancelReason,
  price: r.marketPrice,
  canceled: true,
});

const filledAnswer = (r: FilledOrder) => ({
  qty: r.qty,
  remainingQty: r.remainingQty,
  cancelReason: unfilledReason(r),
  price: r.price,
  canceled: false,
});

/** The copy order an earlier delivery placed, as the exchange filled it (no reservation held). */
export function orderOfFill(
  s: TraderSignal,
  signalKey: string,
  follow: FollowSettings,
  f: FilledOrder,
): CopyOrder {
  return {
    clientOrderId: f.clientOrderId,
    signalId: signalKey,
    copierId: follow.copierId,
    traderId: s.traderId,
    instrument: s.instrument,
    account: follow.account,
    action: s.action,
    side: s.side,
    orderSide: f.side,
    posSide: follow.positionMode === 'hedge' ? s.side : 'net',
    qty: f.requestedQty,
    reduceOnly: s.action === 'close',
    leverage: f.leverage,
    marginMode: follow.marginMode,
    margin: '0',
    limitPrice: f.limitPrice,
  };
}

const summary = (p: PlacedOrder) => ({
  clientOrderId: p.order.clientOrderId,
  instrument: p.order.instrument,
  action: p.order.action,
  side: p.order.side,
  qty: p.fillQty ?? p.order.qty,
  status: p.status,
  price: p.fillPrice,
  errorCode: p.errorCode,
});
