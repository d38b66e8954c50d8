import { type AccountSnapshot, availableForMargin } from './account.js';
import { type CopyOrder, clientOrderId, type SizingResult } from './copy-order.js';
import { entryLimitPrice } from './entry-bound.js';
import { abs, ceilDiv, type Fx, floorTo, fx, fxOfNumber, fxStr, ONE } from './fixed.js';
import type { InstrumentRules } from './instrument.js';
import { exchangeLeg, netPosition, type OrderSide } from './netting.js';
import { parsedFollow } from './parsed-follow.js';
import { protectivePrices } from './protection.js';
import { defaultMaxSlippage, type FollowSettings, type LeadSettings } from './settings.js';
import type { TraderSignal } from './signal.js';
import type { SkipReason } from './skip-reasons.js';
import { closeQtyFx, findSlice, type Slice } from './slices.js';

/**
 * Sizing: one trader signal and one copier give one copier order or one skip with its
 * reason. Pure; it runs for every copier of the trader (5,000 per signal), so what depends
 * on the signal alone is parsed once by prepareSignal, sizeCopy does the per-copier part,
 * and the arithmetic is exact scaled bigint (fixed.ts), each quotient taken once and
 * rounded in the direction stated below.
 *
 * Open, checks in this order:
 * 1. follow stopped → skip; paused → skip; instrument not followed → skip.
 * 2. |current price − trader's fill| / trader's fill > maxSlippage → skip "price-moved"
 *    (a follow without maxSlippage: the instrument's default, defaultMaxSlippage). The
 *    order carries the bound as its limit (entry-bound.ts): the exchange fills it only
 *    within maxSlippage of the trader's fill, wherever the price went since sizing.
 * 3. qty: fixed-amount margin × leverage / (price × contractSize), or fixed-ratio trader
 *    qty × ratio; rounded down to the step; below minQty → skip. `price` is the current
 *    price (what the copier will pay), leverage the trader's or the copier's own.
 * 4. max position: the copier's slice of this trader on this instrument and side, plus
 *    this open, valued at the current price, must not exceed maxPositionValue; the open is
 *    reduced to fit (rounded down to the step), or skipped if that leaves less than minQty.
 * 5. balance: margin of the exposure added (qty in hedge mode; the growth of |net| in
 *    one-way mode, see netting.ts) × price × contractSize / leverage, plus the estimated
 *    fee qty × price × contractSize × feeRate, rounded up to 8 places, must not exceed the
 *    balance available for margin (account.ts) → else skip "insufficient-balance".
 *
 * Close:
 * 1. follow stopped → skip. A paused follow, or an instrument no longer followed, still
 *    closes: the slice exists because the copier copied its open, and nothing else would
 *    close it with the trader.
 * 2. a close by liquidation when the lead's policy is 'keep' → skip.
 * 3. no slice of this trader on (instrument, side) → skip "no-slice".
 * 4. qty = fraction × slice, fraction = trader's qty / trader's position before (at most
 *    1), rounded down to the step, never more than the slice; a full close takes the whole
 *    slice exactly, even below minQty (closing what is left is always allowed); a partial
 *    close below minQty → skip (the slice stays whole; the trader's next close takes it).
 * No slippage or balance check: a close must not be blocked by price or balance.
 */

/** The copier-independent part of a signal, parsed once per signal (fixed.ts units). */
export interface PreparedSignal {
  readonly signal: TraderSignal;
  readonly lead: LeadSettings;
  readonly rules: InstrumentRules;
  /** the current mark/best price */
  readonly price: Fx;
  /** the trader's fill price */
  readonly fill: Fx;
  readonly feeRate: Fx;
  readonly step: Fx;
  readonly minQty: Fx;
  readonly tick: Fx;
  readonly traderQty: Fx;
  /** closes: the trader's position before the fill */
  readonly positionBefore: Fx;
  readonly traderLeverage: Fx;
  /** price × contractSize at scale 10^36: the exact USDT value of one contract */
  readonly contractValue2: bigint;
  /** |price − fill|, compared with maxSlippage × fill */
  readonly priceMove: Fx;
  /** the instrument's max slippage for a follow that sets none */
  readonly defaultSlippage: Fx;
  readonly defaultSlippageStr: string;
  /**
   * Each open's limit (entry-bound.ts) by order side and max slippage: copiers share a few
   * values, and a limit costs a fifth of a copier's sizing, so each is computed once per signal.
   */
  readonly limits: { readonly buy: Map<string, string>; readonly sell: Map<string, string> };
}

export interface Market {
  /** current mark or best price of the instrument, decimal string > 0 */
  price: string;
  /** taker fee rate used to estimate an open's fee, e.g. "0.0005" */
  feeRate: string;
}

export interface CopierState {
  follow: FollowSettings;
  account: AccountSnapshot;
  /** all the copier's slices (every trader, every instrument) on the follow's account */
  slices: readonly Slice[];
}

const ONE2 = ONE * ONE;
/** margins are rounded up to 8 places: 10^(18−8) units of fixed.ts */
const MARGIN_UNIT = 10n ** 10n;

/** Parses what all copiers share. Throws on inputs that do not belong together or make no sense. */
export function prepareSignal(
  signal: TraderSignal,
  lead: LeadSettings,
  rules: InstrumentRules,
  market: Market,
): PreparedSignal {
  if (lead.traderId !== signal.traderId) {
    throw new Error(`lead settings of ${lead.traderId} for a signal of ${signal.traderId}`);
  }
  if (rules.instrument !== signal.instrument) {
    throw new Error(`rules of ${rules.instrument} for a signal on ${signal.instrument}`);
  }
  const price = fx(market.price);
  const fill = fx(signal.price);
  const traderQty = fx(signal.qty);
  const positionBefore = fx(signal.positionBefore);
  const traderLeverage = fxOfNumber(signal.leverage);
  if (price <= 0n || fill <= 0n || traderQty <= 0n || traderLeverage <= 0n) {
    throw new Error(`signal ${signal.signalId}: price, fill price, qty and leverage must be > 0`);
  }
  if (signal.action === 'close' && positionBefore <= 0n) {
    throw new Error(`signal ${signal.signalId}: a close with positionBefore ${signal.positionBefore}`);
  }
  const step = fx(rules.qtyStep);
  const minQty = fx(rules.minQty);
  const tick = fx(rules.tickSize);
  const contractSize = fx(rules.contractSize);
  if (step <= 0n || minQty <= 0n || tick <= 0n || contractSize <= 0n) {
    throw new Error(`rules of ${rules.instrument}: sizes must be > 0`);
  }
  return {
    signal,
    lead,
    rules,
    price,
    fill,
    feeRate: fx(market.feeRate),
    step,
    minQty,
    tick,
    traderQty,
    positionBefore,
    traderLeverage,
    contractValue2: price * contractSize,
    priceMove: abs(price - fill),
    defaultSlippage: fx(defaultMaxSlippage(rules.instrument)),
    defaultSlippageStr: defaultMaxSlippage(rules.instrument),
    limits: { buy: new Map(), sell: new Map() },
  };
}

/** The order or skip for one copier of the signal's trader. */
export function sizeCopy(p: PreparedSignal, copier: CopierState): SizingResult {
  const { follow } = copier;
  if (follow.traderId !== p.signal.traderId) {
    throw new Error(`follow of ${follow.copierId} is of ${follow.traderId}, not ${p.signal.traderId}`);
  }
  if (follow.status === 'stopped') return skip(p, follow, 'follow-stopped', 'status stopped');
  return p.signal.action === 'open' ? sizeOpen(p, copier) : sizeClose(p, copier);
}

function sizeOpen(p: PreparedSignal, { follow, account, slices }: CopierState): SizingResult {
  const { signal } = p;
  const cv2 = p.contractValue2;

  // 1. follow
  if (follow.status === 'paused') return skip(p, follow, 'follow-paused', 'status paused');
  if (!follow.instruments.includes(signal.instrument)) {
    return skip(p, follow, 'instrument-not-followed', `follows ${follow.instruments.join(', ')}`);
  }

  // 2. slippage: |price − fill| / fill > maxSlippage, without a division
  const f = parsedFollow(follow);
  const slippage = f.maxSlippage ?? p.defaultSlippage;
  if (p.priceMove * ONE > slippage * p.fill) {
    const move = fxStr(floorTo((p.priceMove * ONE) / p.fill, 10n ** 12n));
    const max = follow.maxSlippage ?? p.defaultSlippageStr;
    return skip(p, follow, 'price-moved', `moved ${move} from ${signal.price}, max ${max}`);
  }

  // 3. quantity, rounded down to the step
  const leverage = follow.leverage === 'trader' ? signal.leverage : follow.leverage;
  const lev = f.ownLeverage ?? p.traderLeverage;
  const raw =
    f.mode === 'fixed-amount'
      ? (f.amount * lev * ONE) / cv2 // margin × leverage / (price × contractSize)
      : (p.traderQty * f.amount) / ONE;
  let qty = floorTo(raw, p.step);
  if (qty < p.minQty) {
    return skip(p, follow, 'below-min-qty', `${fxStr(raw)} → ${fxStr(qty)}, min ${fxStr(p.minQty)}`);
  }

  // 4. max position value (values at scale 10^54: qty × price × contractSize)
  const slice = findSlice(slices, signal.traderId, signal.instrument, signal.side);
  const held = slice === undefined ? 0n : fx(slice.qty);
  const cap = f.maxPositionValue * ONE2;
  if ((held + qty) * cv2 > cap) {
    const room = cap - held * cv2;
    const fits = room > 0n ? floorTo(room / cv2, p.step) : 0n;
    if (fits < p.minQty) {
      const value = fxStr(floorTo((held * cv2) / ONE2, ONE / 100n));
      return skip(p, follow, 'over-max-position', `holds ${value} of max ${follow.maxPositionValue} USDT`);
    }
    qty = fits;
  }

  // 5. balance: (exposure × cv / lev + qty × cv × feeRate), rounded up to 8 places, exactly:
  //    (exposure × cv2 × ONE² + qty × cv2 × feeRate × lev) / (lev × ONE³) at scale 10^18
  const net = follow.positionMode === 'one-way' ? netPosition(slices, signal.instrument) : 0n;
  const leg = exchangeLeg(follow.positionMode, 'open', signal.side, qty, net);
  const numerator = leg.exposureQty * cv2 * ONE2 + qty * cv2 * p.feeRate * lev;
  const margin = ceilDiv(numerator, lev * ONE2 * ONE * MARGIN_UNIT) * MARGIN_UNIT;
  const available = availableForMargin(account, follow.marginMode);
  if (margin > available) {
    return skip(
      p,
      follow,
      'insufficient-balance',
      `needs ${fxStr(margin)} USDT, ${fxStr(available)} available`,
    );
  }

  // one literal with every field (no spread): this runs for every copier of every signal
  const order: CopyOrder = {
    clientOrderId: clientOrderId(signal.signalId, follow.copierId),
    signalId: signal.signalId,
    copierId: follow.copierId,
    traderId: signal.traderId,
    instrument: signal.instrument,
    account: follow.account,
    side: signal.side,
    action: 'open',
    orderSide: leg.orderSide,
    posSide: leg.posSide,
    qty: fxStr(qty),
    reduceOnly: leg.reduceOnly,
    leverage,
    marginMode: follow.marginMode,
    margin: fxStr(margin),
    limitPrice: limitOf(p, leg.orderSide, follow.maxSlippage ?? p.defaultSlippageStr, slippage),
  };
  if (follow.takeProfitRatio !== undefined || follow.stopLossRatio !== undefined) {
    Object.assign(
      order,
      protectivePrices(signal.side, p.price, lev, p.tick, follow.takeProfitRatio, follow.stopLossRatio),
    );
  }
  return { kind: 'order', order };
}

function sizeClose(p: PreparedSignal, { follow, slices }: CopierState): SizingResult {
  const { signal } = p;
  if (signal.liquidation === true && p.lead.onLiquidation === 'keep') {
    return skip(p, follow, 'kept-after-liquidation', 'lead policy keep');
  }
  const slice = findSlice(slices, signal.traderId, signal.instrument, signal.side);
  const held = slice === undefined ? 0n : fx(slice.qty);
  if (held <= 0n) return skip(p, follow, 'no-slice', `no ${signal.side} slice`);

  const qty = closeQtyFx(held, p.traderQty, p.positionBefore, p.step);
  if (qty < held && qty < p.minQty) {
    const of = `${signal.qty}/${signal.positionBefore} of ${fxStr(held)}`;
    return skip(p, follow, 'below-min-qty', `${of} → ${fxStr(qty)}, min ${fxStr(p.minQty)}`);
  }
  const net = follow.positionMode === 'one-way' ? netPosition(slices, signal.instrument) : 0n;
  const leg = exchangeLeg(follow.positionMode, 'close', signal.side, qty, net);
  return {
    kind: 'order',
    order: {
      clientOrderId: clientOrderId(signal.signalId, follow.copierId),
      signalId: signal.signalId,
      copierId: follow.copierId,
      traderId: signal.traderId,
      instrument: signal.instrument,
      account: follow.account,
      side: signal.side,
      action: 'close',
      orderSide: leg.orderSide,
      posSide: leg.posSide,
      qty: fxStr(qty),
      reduceOnly: leg.reduceOnly,
      leverage: follow.leverage === 'trader' ? signal.leverage : follow.leverage,
      marginMode: follow.marginMode,
      margin: '0',
    },
  };
}

function limitOf(p: PreparedSignal, side: OrderSide, key: string, slippage: Fx): string {
  const known = p.limits[side].get(key);
  if (known !== undefined) return known;
  const limit = fxStr(entryLimitPrice(side, p.fill, slippage, p.tick));
  p.limits[side].set(key, limit);
  return limit;
}

function skip(p: PreparedSignal, follow: FollowSettings, reason: SkipReason, detail: string): SizingResult {
  const { signal } = p;
  return {
    kind: 'skip',
    skip: {
      signalId: signal.signalId,
      copierId: follow.copierId,
      traderId: signal.traderId,
      instrument: signal.instrument,
      reason,
      detail,
    },
  };
}
