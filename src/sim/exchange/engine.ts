import type {
  AccountView,
  CanceledOrder,
  CancelReason,
  ExchangeLedgerView,
  ExchangeTransfer,
  ExchangeTransfersView,
  FilledOrder,
  FillLeg,
  InstrumentId,
  LeverageView,
  MarginEvent,
  MarginMode,
  OrderOutcome,
  OrderSide,
  PositionMode,
  PositionSide,
  PositionsView,
  PriceView,
  QtyCap,
  RejectedOrder,
} from '../../clients/exchange-wire.js';
import { type Asset, CURRENCIES, type Totals } from '../../clients/wire.js';
import type { Money } from '../../domain/money.js';
import { Rejected } from '../errors.js';
import { formatUnits as fmt, minUnits, ONE, parseUnits, type Units } from './fixed.js';
import { fillPrice, type InstrumentRules, qtyAboveMax, qtyProblem, RULES } from './instruments.js';
import { ExchangeLedger } from './ledger.js';
import { fillableQty, splitFill, withinLimit } from './limits.js';
import { liquidationPrice } from './liquidation.js';
import {
  type CloseEffect,
  closeEffect,
  closeFrom,
  emptyPosition,
  feeFor,
  marginFor,
  openInto,
  type Position,
  positionKey,
} from './positions.js';
import { QtyCaps } from './qty-caps.js';
import {
  type AccountRequest,
  type AddMarginRequest,
  isEscrowAccount,
  type LeverageRequest,
  type LiquidateRequest,
  type OrderRequest,
  type TransferRequest,
} from './requests.js';
import { TransferBook } from './transfers.js';

/**
 * The simulated derivatives exchange, without I/O: accounts, leverage settings, positions,
 * market orders and the ledger. Every call is synchronous and all-or-nothing: an order is
 * checked in full before anything changes, then applied in one go, so a duplicate can never
 * slip in between and a rejected order leaves no trace but its count. Amounts are units
 * (fixed.ts) inside, decimal strings outside.
 */

export interface EngineOptions {
  /** taker fee rate on the notional, a decimal string in [0, 1) of at most 8 places */
  feeRate: string;
  /** how far (basis points) a fill is from the feed price, against the taker */
  slippageBps: number;
  /** the feed price of an asset in USDT (the simulator's feed: one object per tick) */
  price: (asset: Asset) => Money;
  /** epoch ms of a fill */
  now?: () => number;
}

export const DEFAULT_LEVERAGE = 10;
export const DEFAULT_MARGIN_MODE: MarginMode = 'cross';

interface Setting {
  readonly leverage: number;
  readonly marginMode: MarginMode;
}
const DEFAULT_SETTING: Setting = { leverage: DEFAULT_LEVERAGE, marginMode: DEFAULT_MARGIN_MODE };

interface AccountState {
  readonly id: string;
  mode: PositionMode;
  readonly settings: Map<InstrumentId, Setting>;
  /** open positions only, by positionKey */
  readonly positions: Map<string, Position>;
  usedMargin: Units;
  realisedPnl: Units;
  fees: Units;
  /** the first result of each client order id */
  readonly applied: Map<string, Applied>;
}

interface Applied {
  readonly result: FilledOrder | CanceledOrder;
  /** what the result does not show of the order, to tell a replay from a conflict */
  readonly positionSide: PositionSide | undefined;
  readonly reduceOnly: boolean;
}

/** A fill price of the current tick, with what every order filled at it shares. */
interface Quote {
  readonly price: Units;
  /** printed once per tick */
  readonly text: string;
  /** contractSize × price: a quantity times this is its raw notional (positions.ts) */
  readonly perContract: Units;
}

interface PriceCache {
  /** the feed's object for the current tick */
  readonly feed: Money;
  readonly units: Units;
  readonly buy: Quote;
  readonly sell: Quote;
}

export class ExchangeEngine {
  readonly #feeRate: Units;
  readonly #slippageBps: number;
  readonly #price: (asset: Asset) => Money;
  readonly #now: () => number;
  readonly #accounts = new Map<string, AccountState>();
  readonly #ledger = new ExchangeLedger();
  readonly #prices = new Map<InstrumentId, PriceCache>();
  /** USDT deposited into each account over its life (equity.ts: the flows that do not move a NAV) */
  readonly #deposited = new Map<string, Units>();
  #orderSeq = 0;
  #ordersApplied = 0;
  #fills = 0;
  #replays = 0;
  #canceled = 0;
  #liquidations = 0;
  #marginEvents = 0;
  /** the most contracts one order fills, per instrument; unlimited when not set */
  readonly #liquidity = new QtyCaps(() => undefined);
  /** the most contracts one order may carry, per instrument; the instrument's own when not set */
  readonly #maxQty = new QtyCaps((i) => RULES[i].maxQty);
  readonly #rejected = new Map<string, number>();
  readonly #transfers = new TransferBook();
  readonly #escrows = new Set<string>();

  constructor(opts: EngineOptions) {
    const feeRate = parseUnits(opts.feeRate);
    if (feeRate === undefined || feeRate < 0n || feeRate >= ONE) {
      throw new Error(
        `feeRate: expected a decimal from 0 to below 1 of at most 8 places, got "${opts.feeRate}"`,
      );
    }
    if (!Number.isInteger(opts.slippageBps) || opts.slippageBps < 0 || opts.slippageBps > 1000) {
      throw new Error(`slippageBps: expected an integer from 0 to 1000, got ${opts.slippageBps}`);
    }
    this.#feeRate = feeRate;
    this.#slippageBps = opts.slippageBps;
    this.#price = opts.price;
    this.#now = opts.now ?? Date.now;
  }

  hasAccount(account: string): boolean {
    return this.#accounts.has(account);
  }

  /** The account's USDT wallet balance in units (the trade history's balance points); the account must exist. */
  walletUnits(account: string): Units {
    return this.#ledger.balance(account, 'USDT');
  }

  /**
   * The stored result of a filled client order id (as first answered), or undefined: also for
   * a canceled order, of which nothing filled. Changes nothing.
   */
  lookup(account: string, clientOrderId: string): FilledOrder | undefined {
    const result = this.#accounts.get(account)?.applied.get(clientOrderId)?.result;
    return result?.status === 'filled' ? result : undefined;
  }

  /** The most contracts one order fills on the instrument (a multiple of its step, checked by the caller); undefined: unlimited. */
  setLiquidity(instrument: InstrumentId, maxQty: Units | undefined): QtyCap {
    return this.#liquidity.set(instrument, maxQty);
  }

  liquidity(): QtyCap[] {
    return this.#liquidity.all();
  }

  /** The most contracts one order may carry on the instrument; undefined: the instrument's own maximum. */
  setMaxQty(instrument: InstrumentId, maxQty: Units | undefined): QtyCap {
    return this.#maxQty.set(instrument, maxQty);
  }

  maxQty(): QtyCap[] {
    return this.#maxQty.all();
  }

  /** Creates the account if new, changes its position mode if asked (only when flat), then deposits. */
  createAccount(req: AccountRequest): AccountView {
    let acct = this.#accounts.get(req.account);
    if (acct !== undefined && req.positionMode !== undefined && req.positionMode !== acct.mode) {
      if (acct.positions.size > 0) {
        throw new Rejected(
          'POSITION_OPEN',
          `${req.account} holds positions: close them to change position mode`,
        );
      }
      acct.mode = req.positionMode;
    }
    if (acct === undefined) {
      acct = {
        id: req.account,
        mode: req.positionMode ?? 'one-way',
        settings: new Map(),
        positions: new Map(),
        usedMargin: 0n,
        realisedPnl: 0n,
        fees: 0n,
        applied: new Map(),
      };
      this.#ledger.open(acct.id);
      this.#accounts.set(acct.id, acct);
    }
    if (req.deposits.size > 0) this.#ledger.deposit(acct.id, req.deposits);
    const usdt = req.deposits.get('USDT') ?? 0n;
    if (usdt > 0n) this.#deposited.set(acct.id, (this.#deposited.get(acct.id) ?? 0n) + usdt);
    return this.#accountView(acct);
  }

  /** USDT deposited into the account since it was opened (the simulator has no withdrawals). */
  deposited(account: string): Units {
    return this.#deposited.get(this.#account(account).id) ?? 0n;
  }

  /** Refused while the account holds a position on the instrument (on either side). */
  setLeverage(req: LeverageRequest): LeverageView {
    const acct = this.#account(req.account);
    for (const pos of acct.positions.values()) {
      if (pos.instrument === req.instrument) {
        throw new Rejected(
          'POSITION_OPEN',
          `${req.account} holds a ${req.instrument} position: close it to change leverage or margin mode`,
        );
      }
    }
    acct.settings.set(req.instrument, { leverage: req.leverage, marginMode: req.marginMode });
    return {
      account: acct.id,
      instrument: req.instrument,
      leverage: req.leverage,
      marginMode: req.marginMode,
    };
  }

  /**
   * Fills an order at once (a limit order only within its limit; any order only up to the
   * instrument's liquidity, the rest canceled), cancels it if nothing may fill, or rejects it
   * with a code. A client order id filled or canceled before returns its first result as a
   * replay and changes nothing; `injectedReject` rejects a new order with that code (fault
   * injection), never a replay. Rejections are not remembered: the same client order id may
   * fill later.
   */
  place(req: OrderRequest, injectedReject?: string): OrderOutcome {
    const acct = this.#accounts.get(req.account);
    if (acct === undefined) return this.reject(req, 'UNKNOWN_ACCOUNT', `no account ${req.account}`);
    const prior = acct.applied.get(req.clientOrderId);
    if (prior !== undefined) {
      if (!sameOrder(prior, req)) {
        return this.reject(
          req,
          'IDEMPOTENCY_CONFLICT',
          `clientOrderId ${req.clientOrderId} was used for another order`,
        );
      }
      this.#replays++;
      return { ...prior.result, replay: true };
    }
    if (injectedReject !== undefined) return this.reject(req, injectedReject, 'injected rejection');

    const rules = RULES[req.instrument];
    const asked = req.qty;
    const qtyIssue = qtyProblem(rules, asked, req.qtyText);
    if (qtyIssue !== undefined || asked === null)
      return this.reject(req, 'INVALID_QTY', qtyIssue ?? req.qtyText);
    const tooLarge = qtyAboveMax(this.#maxQty.of(req.instrument), asked, req.qtyText);
    if (tooLarge !== undefined) return this.reject(req, 'QTY_ABOVE_MAX', tooLarge);

    // 1. which position the order closes (up to its size) and which it opens
    const hedge = acct.mode === 'hedge';
    if (hedge !== (req.positionSide !== undefined)) {
      return this.reject(
        req,
        'INVALID_POSITION_SIDE',
        hedge
          ? `${acct.id} is in hedge mode: positionSide long or short is required`
          : `${acct.id} is in one-way mode: positionSide is not allowed`,
      );
    }
    const direction: PositionSide = req.side === 'buy' ? 'long' : 'short';
    const openSide: PositionSide = req.positionSide ?? direction;
    const key = positionKey(req.instrument, req.positionSide);
    const held = acct.positions.get(key);
    let closeQty = 0n;
    let openQty = 0n;
    if (hedge ? direction !== openSide : held !== undefined && held.side !== direction) {
      if (held === undefined) {
        return this.reject(req, 'NO_POSITION', `no ${openSide} ${req.instrument} position to close`);
      }
      // a close never goes beyond the position; in one-way mode the rest opens the other
      // side, unless reduce-only
      closeQty = minUnits(asked, held.qty);
      if (!hedge && !req.reduceOnly) openQty = asked - closeQty;
    } else if (req.reduceOnly) {
      return this.reject(
        req,
        'REDUCE_ONLY_WOULD_INCREASE',
        `a reduce-only ${req.side} would open a ${openSide} position`,
      );
    } else {
      openQty = asked;
    }

    // 2. the fill decision at the current fill price: within the limit, up to the liquidity
    const cache = this.#feed(rules);
    const quote = req.side === 'buy' ? cache.buy : cache.sell;
    const price = quote.price;
    const wanted = closeQty + openQty;
    if (req.limit !== undefined && !withinLimit(req.side, price, req.limit.price)) {
      const beyond = req.side === 'buy' ? 'above' : 'below';
      return this.#cancel(
        acct,
        req,
        wanted,
        quote,
        'PRICE_BEYOND_LIMIT',
        `fill price ${quote.text} is ${beyond} the limit ${req.limit.priceText}`,
      );
    }
    const qty = this.#liquidity.anySet ? fillableQty(wanted, this.#liquidity.of(req.instrument)) : wanted;
    // unreachable while liquidity is at least one step (parseQtyCap); were it less, a cancel, never a fill of 0
    if (qty === 0n) {
      return this.#cancel(acct, req, wanted, quote, 'INSUFFICIENT_LIQUIDITY', 'no liquidity');
    }
    const remaining = wanted - qty;
    if (remaining !== 0n) ({ close: closeQty, open: openQty } = splitFill(closeQty, openQty, qty));

    // 3. fee, PnL of the close, margin of the open (checked against what is available after the close)
    const setting = acct.settings.get(req.instrument) ?? DEFAULT_SETTING;
    const fee = feeFor(qty * quote.perContract, this.#feeRate);
    const close: CloseEffect | undefined =
      held !== undefined && closeQty !== 0n
        ? closeEffect(held, closeQty, price, rules.contractSize)
        : undefined;
    const pnl = close?.pnl ?? 0n;
    let margin = 0n;
    if (openQty !== 0n) {
      margin = marginFor(openQty * quote.perContract, setting.leverage);
      const available =
        this.#ledger.balance(acct.id, 'USDT') + pnl - acct.usedMargin + (close?.released ?? 0n);
      if (margin + fee > available) {
        return this.reject(
          req,
          'INSUFFICIENT_MARGIN',
          `needs ${fmt(margin)} USDT margin and ${fmt(fee)} fee, ${fmt(available)} available`,
        );
      }
    }

    // 4. apply: the ledger, then the positions
    this.#ledger.settleFill(acct.id, req.clientOrderId, fee, pnl);
    // most amounts of a fill equal the quantity asked: printed once, the string is shared
    const askedText = fmt(asked);
    const pnlText = fmt(pnl);
    const text = (amount: Units): string => (amount === asked ? askedText : fmt(amount));
    let closeLeg: FillLeg | undefined;
    let openLeg: FillLeg | undefined;
    if (close !== undefined && held !== undefined) {
      const before = held.qty;
      closeFrom(held, closeQty, close);
      acct.usedMargin -= close.released;
      if (held.qty === 0n) acct.positions.delete(key);
      closeLeg = leg(held.side, 'close', text(closeQty), text(before), text(held.qty), pnlText);
    }
    if (openQty !== 0n) {
      let pos = acct.positions.get(key);
      if (pos === undefined) {
        pos = emptyPosition(req.instrument, openSide, setting.leverage, setting.marginMode);
        acct.positions.set(key, pos);
      }
      const before = pos.qty;
      openInto(pos, openQty, price, margin);
      acct.usedMargin += margin;
      openLeg = leg(openSide, 'open', text(openQty), text(before), text(pos.qty), '0');
    }
    acct.realisedPnl += pnl;
    acct.fees += fee;
    // kept with the result: a literal of the exact length, where pushes would reserve room for 17
    const legs =
      closeLeg === undefined
        ? [openLeg as FillLeg]
        : openLeg === undefined
          ? [closeLeg]
          : [closeLeg, openLeg];

    const result: FilledOrder = {
      status: 'filled',
      account: acct.id,
      clientOrderId: req.clientOrderId,
      orderId: String(++this.#orderSeq),
      instrument: req.instrument,
      side: req.side,
      requestedQty: askedText,
      qty: text(qty),
      price: quote.text,
      fee: fmt(fee),
      feeCurrency: 'USDT',
      realisedPnl: pnlText,
      leverage: setting.leverage,
      marginMode: setting.marginMode,
      filledMs: this.#now(),
      legs,
      replay: false,
      type: req.type,
      orderStatus: remaining === 0n ? 'FILLED' : 'PARTIALLY_FILLED',
      remainingQty: remaining === 0n ? '0' : fmt(remaining),
    };
    withLimitOf(req, result);
    if (remaining !== 0n) result.cancelReason = 'INSUFFICIENT_LIQUIDITY';
    acct.applied.set(req.clientOrderId, {
      result,
      positionSide: req.positionSide,
      reduceOnly: req.reduceOnly,
    });
    this.#ordersApplied++;
    this.#fills += legs.length;
    return result;
  }

  /** Nothing of the order fills: kept under its client order id (a repeat answers it), nothing else changes. */
  #cancel(
    acct: AccountState,
    req: OrderRequest,
    wanted: Units,
    quote: Quote,
    reason: CancelReason,
    message: string,
  ): CanceledOrder {
    const result: CanceledOrder = {
      status: 'canceled',
      orderStatus: 'CANCELED',
      account: acct.id,
      clientOrderId: req.clientOrderId,
      orderId: String(++this.#orderSeq),
      instrument: req.instrument,
      side: req.side,
      type: req.type,
      requestedQty: fmt(req.qty ?? 0n),
      qty: '0',
      remainingQty: fmt(wanted),
      cancelReason: reason,
      marketPrice: quote.text,
      message,
      canceledMs: this.#now(),
      replay: false,
    };
    withLimitOf(req, result);
    acct.applied.set(req.clientOrderId, {
      result,
      positionSide: req.positionSide,
      reduceOnly: req.reduceOnly,
    });
    this.#canceled++;
    return result;
  }

  /**
   * A funding transfer, applied at most once per key (see ExchangeTransferRequest): a repeat
   * answers the first reply; another body under the key throws IDEMPOTENCY_CONFLICT. A user
   * account gives at most its available USDT (wallet less used margin), an escrow at most
   * what it holds: INSUFFICIENT_FUNDS, nothing moved.
   */
  transfer(req: TransferRequest): ExchangeTransfer {
    const found = this.#transfers.find(req);
    if (found === 'conflict') {
      throw new Rejected('IDEMPOTENCY_CONFLICT', `transfer key ${req.key} was used with another body`);
    }
    if (found !== undefined) return found;
    for (const account of [req.from, req.to]) {
      if (!isEscrowAccount(account) && !this.#accounts.has(account)) {
        throw new Rejected('UNKNOWN_ACCOUNT', `no account ${account}`);
      }
    }
    const source = this.#accounts.get(req.from);
    const available = this.#escrows.has(req.from)
      ? this.#ledger.balance(req.from, 'USDT')
      : source === undefined
        ? 0n
        : this.#ledger.balance(source.id, 'USDT') - source.usedMargin;
    if (req.amount > available) {
      throw new Rejected(
        'INSUFFICIENT_FUNDS',
        `${req.from} has ${fmt(available > 0n ? available : 0n)} USDT available, ${req.amountText} asked`,
      );
    }
    if (isEscrowAccount(req.to) && !this.#escrows.has(req.to)) {
      this.#ledger.open(req.to);
      this.#escrows.add(req.to);
    }
    this.#ledger.transfer(req.key, req.from, req.to, req.amount);
    const reply: ExchangeTransfer = {
      key: req.key,
      from: req.from,
      to: req.to,
      amount: req.amountText,
      appliedMs: this.#now(),
      replay: false,
    };
    this.#transfers.remember(reply);
    return reply;
  }

  /** The transfers under a key prefix, each with how many times its key reached the journal. */
  transfers(prefix: string): ExchangeTransfersView {
    const escrow: Record<string, string> = {};
    for (const account of this.#escrows) escrow[account] = fmt(this.#ledger.balance(account, 'USDT'));
    return this.#transfers.view(prefix, this.#ledger, escrow);
  }

  /** A rejection, counted by code; also for orders the HTTP layer could not read. */
  reject(
    ids: { account: string | null; clientOrderId: string | null },
    code: string,
    message: string,
  ): RejectedOrder {
    this.#rejected.set(code, (this.#rejected.get(code) ?? 0) + 1);
    return { status: 'rejected', account: ids.account, clientOrderId: ids.clientOrderId, code, message };
  }

  /**
   * The exchange liquidates the account's position on the instrument (the `side` one in hedge
   * mode; in one-way mode `side`, if given, must be the position's): all of it closes at the
   * feed price (no slippage, no fee), its PnL booked as any close's (a loss beyond the wallet
   * is the house's shortfall), under a client order id of the exchange's own, `liq-{n}`. The
   * answer is a filled order marked `liquidation: true`, whose fill events say so too.
   */
  liquidate(req: LiquidateRequest): FilledOrder {
    const acct = this.#account(req.account);
    const { key, pos } = this.#positionOf(acct, req.instrument, req.side);
    const rules = RULES[req.instrument];
    const price = this.#feed(rules).units;
    const close = closeEffect(pos, pos.qty, price, rules.contractSize);
    const clientOrderId = `liq-${++this.#liquidations}`;
    this.#ledger.settleFill(acct.id, clientOrderId, 0n, close.pnl);
    const before = fmt(pos.qty);
    const qty = pos.qty;
    closeFrom(pos, qty, close);
    acct.usedMargin -= close.released;
    acct.positions.delete(key);
    acct.realisedPnl += close.pnl;
    this.#fills++;
    const pnl = fmt(close.pnl);
    return {
      status: 'filled',
      account: acct.id,
      clientOrderId,
      orderId: String(++this.#orderSeq),
      instrument: req.instrument,
      side: pos.side === 'long' ? 'sell' : 'buy',
      requestedQty: before,
      qty: before,
      price: fmt(price),
      fee: '0',
      feeCurrency: 'USDT',
      realisedPnl: pnl,
      leverage: pos.leverage,
      marginMode: pos.marginMode,
      filledMs: this.#now(),
      legs: [leg(pos.side, 'close', before, before, '0', pnl)],
      replay: false,
      type: 'market',
      orderStatus: 'FILLED',
      remainingQty: '0',
      liquidation: true,
    };
  }

  /**
   * Moves `amount` of the account's available USDT into the margin of its isolated position
   * (no ledger entry: margin is part of the wallet, only its use changes). Not idempotent.
   */
  addMargin(req: AddMarginRequest): MarginEvent {
    const acct = this.#account(req.account);
    const { pos } = this.#positionOf(acct, req.instrument, req.positionSide);
    if (pos.marginMode !== 'isolated') {
      throw new Rejected(
        'NOT_ISOLATED',
        `the ${req.instrument} position of ${acct.id} is cross margin: it draws on the whole balance already`,
      );
    }
    const available = this.#ledger.balance(acct.id, 'USDT') - acct.usedMargin;
    if (req.amount > available) {
      throw new Rejected(
        'INSUFFICIENT_FUNDS',
        `${acct.id} has ${fmt(available > 0n ? available : 0n)} USDT available, ${req.amountText} asked`,
      );
    }
    pos.margin += req.amount;
    acct.usedMargin += req.amount;
    return {
      type: 'margin',
      account: acct.id,
      instrument: req.instrument,
      side: pos.side,
      added: req.amountText,
      margin: fmt(pos.margin),
      liquidationPrice: fmt(this.#liquidationPrice(acct, pos)),
      atMs: this.#now(),
      eventId: `m-${++this.#marginEvents}`,
    };
  }

  /** The open position a liquidation or a margin change names, or NO_POSITION / INVALID_POSITION_SIDE. */
  #positionOf(
    acct: AccountState,
    instrument: InstrumentId,
    side: PositionSide | undefined,
  ): { key: string; pos: Position } {
    const hedge = acct.mode === 'hedge';
    if (hedge && side === undefined) {
      throw new Rejected(
        'INVALID_POSITION_SIDE',
        `${acct.id} is in hedge mode: name the side, long or short`,
      );
    }
    const key = positionKey(instrument, hedge ? side : undefined);
    const pos = acct.positions.get(key);
    if (pos === undefined || (side !== undefined && pos.side !== side)) {
      const what = side === undefined ? instrument : `${side} ${instrument}`;
      throw new Rejected('NO_POSITION', `${acct.id} holds no ${what} position`);
    }
    return { key, pos };
  }

  #liquidationPrice(acct: AccountState, pos: Position): Units {
    const free = this.#ledger.balance(acct.id, 'USDT') - acct.usedMargin;
    return liquidationPrice(pos, RULES[pos.instrument].contractSize, free);
  }

  positions(account: string): PositionsView {
    const acct = this.#account(account);
    const positions = [...acct.positions.values()].map((p) => ({
      instrument: p.instrument,
      side: p.side,
      qty: fmt(p.qty),
      avgEntryPrice: fmt(p.avgEntry),
      leverage: p.leverage,
      marginMode: p.marginMode,
      margin: fmt(p.margin),
      realisedPnl: fmt(p.realisedPnl),
      liquidationPrice: fmt(this.#liquidationPrice(acct, p)),
    }));
    const leverage = [...acct.settings].map(([instrument, s]) => ({
      account: acct.id,
      instrument,
      leverage: s.leverage,
      marginMode: s.marginMode,
    }));
    return {
      ...this.#accountView(acct),
      realisedPnl: fmt(acct.realisedPnl),
      fees: fmt(acct.fees),
      leverage,
      positions,
    };
  }

  priceView(instrument: InstrumentId): PriceView {
    const cache = this.#feed(RULES[instrument]);
    return { instrument, price: fmt(cache.units), buyPrice: cache.buy.text, sellPrice: cache.sell.text };
  }

  /**
   * The ledger's audit (kept as the journal was written, totals against deposits) plus a
   * check of every account's used margin against its positions. O(accounts + positions),
   * however many orders were taken.
   */
  ledgerView(): ExchangeLedgerView {
    const audit = this.#ledger.audit();
    for (const acct of this.#accounts.values()) {
      let locked = 0n;
      for (const pos of acct.positions.values()) {
        if (pos.qty <= 0n) audit.problems.push(`${acct.id}: an empty position is kept open`);
        locked += pos.margin;
      }
      if (locked !== acct.usedMargin) {
        audit.problems.push(`${acct.id}: used margin ${fmt(acct.usedMargin)}, positions lock ${fmt(locked)}`);
      }
    }
    return {
      ...audit,
      conserved: audit.problems.length === 0,
      shortfall: fmt(this.#ledger.shortfall),
      accounts: this.#accounts.size,
      ordersApplied: this.#ordersApplied,
      fills: this.#fills,
      replays: this.#replays,
      canceled: this.#canceled,
      liquidations: this.#liquidations,
      duplicatedClientOrderIds: this.#ledger.doubleEffects(),
      rejected: Object.fromEntries(this.#rejected),
      journalEntries: this.#ledger.journalEntries,
    };
  }

  #account(account: string): AccountState {
    const acct = this.#accounts.get(account);
    if (acct === undefined) throw new Rejected('UNKNOWN_ACCOUNT', `no account ${account}`);
    return acct;
  }

  #accountView(acct: AccountState): AccountView {
    const balances: Totals = {};
    for (const currency of CURRENCIES) {
      const amount = this.#ledger.balance(acct.id, currency);
      if (currency === 'USDT' || amount !== 0n) balances[currency] = fmt(amount);
    }
    return {
      account: acct.id,
      positionMode: acct.mode,
      balances,
      usedMargin: fmt(acct.usedMargin),
      available: fmt(this.#ledger.balance(acct.id, 'USDT') - acct.usedMargin),
    };
  }

  /** The feed price and both fill prices, computed once per feed tick. */
  #feed(rules: InstrumentRules): PriceCache {
    const feed = this.#price(rules.spec.asset);
    let cache = this.#prices.get(rules.spec.instrument);
    if (cache === undefined || cache.feed !== feed) {
      const units = parseUnits(feed.toFixed(8));
      if (units === undefined || units <= 0n) throw new Error(`bad feed price ${feed.toFixed()}`);
      cache = { feed, units, buy: this.#quote(rules, units, 'buy'), sell: this.#quote(rules, units, 'sell') };
      this.#prices.set(rules.spec.instrument, cache);
    }
    return cache;
  }

  #quote(rules: InstrumentRules, feed: Units, side: OrderSide): Quote {
    const price = fillPrice(rules, feed, side, this.#slippageBps);
    return { price, text: fmt(price), perContract: rules.contractSize * price };
  }
}

/** Whether a repeat of a client order id is the same order (a replay) rather than a conflict. */
/** A limit order's answer names its limit, as sent. */
function withLimitOf(req: OrderRequest, result: FilledOrder | CanceledOrder): void {
  if (req.limit === undefined) return;
  result.limitPrice = req.limit.priceText;
  result.timeInForce = req.limit.timeInForce;
}

function sameOrder(prior: Applied, req: OrderRequest): boolean {
  const r = prior.result;
  return (
    r.instrument === req.instrument &&
    r.side === req.side &&
    prior.positionSide === req.positionSide &&
    prior.reduceOnly === req.reduceOnly &&
    req.qty !== null &&
    r.requestedQty === fmt(req.qty) &&
    r.type === req.type &&
    r.limitPrice === req.limit?.priceText &&
    r.timeInForce === req.limit?.timeInForce
  );
}

function leg(
  side: PositionSide,
  action: 'open' | 'close',
  qty: string,
  positionBefore: string,
  positionAfter: string,
  realisedPnl: string,
): FillLeg {
  return { side, action, qty, positionBefore, positionAfter, realisedPnl };
}
