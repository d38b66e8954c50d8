/**
 * The wire contract of the derivatives exchange (USDT-margined perpetual swaps) between
 * tradeflow and the exchange, and the simulator that plays it. Amounts, prices and
 * quantities are decimal strings; quantities are in contracts of the instrument.
 */
import type { Asset, Currency, Totals } from './wire.js';

export const INSTRUMENT_IDS = ['BTC-USDT-SWAP', 'ETH-USDT-SWAP'] as const;
export type InstrumentId = (typeof INSTRUMENT_IDS)[number];

/** `one-way`: one net position per instrument; `hedge`: a long and a short position side by side. */
export const POSITION_MODES = ['one-way', 'hedge'] as const;
export type PositionMode = (typeof POSITION_MODES)[number];

export const MARGIN_MODES = ['cross', 'isolated'] as const;
export type MarginMode = (typeof MARGIN_MODES)[number];

export type OrderSide = 'buy' | 'sell';
export type PositionSide = 'long' | 'short';
export type FillAction = 'open' | 'close';

/** The trading rules of one instrument. */
export interface InstrumentSpec {
  instrument: InstrumentId;
  /** the asset whose price the instrument tracks */
  asset: Asset;
  /** margin, fees and PnL are in this currency */
  settleCurrency: 'USDT';
  /** units of the asset per contract */
  contractSize: string;
  /** smallest order, in contracts */
  minQty: string;
  /** an order's quantity is a multiple of this, in contracts */
  qtyStep: string;
  /** fill prices are multiples of this */
  tickSize: string;
  /** largest order, in contracts: a larger one is refused (QTY_ABOVE_MAX), never partly filled */
  maxQty: string;
  maxLeverage: number;
}

/**
 * Creates the account if it is new (with `positionMode`, default one-way), then deposits
 * `balances`. Not idempotent: each call deposits again. Changing the position mode of an
 * existing account is refused (POSITION_OPEN) while it holds a position.
 */
export interface CreateAccountRequest {
  account: string;
  balances?: Partial<Record<Currency, string>>;
  positionMode?: PositionMode;
}

export interface AccountView {
  account: string;
  positionMode: PositionMode;
  /** wallet balances: deposits, plus realised PnL, less fees */
  balances: Totals;
  /** USDT locked as margin by the open positions */
  usedMargin: string;
  /** USDT wallet balance less used margin: what a new position may lock */
  available: string;
}

/** Refused (POSITION_OPEN) while the account holds a position on that instrument. */
export interface SetLeverageRequest {
  account: string;
  instrument: InstrumentId;
  /** an integer from 1 to the instrument's maxLeverage */
  leverage: number;
  marginMode: MarginMode;
}

export interface LeverageView {
  account: string;
  instrument: InstrumentId;
  leverage: number;
  marginMode: MarginMode;
}

/**
 * A market order, or an IOC limit order. `clientOrderId` is the idempotency key, unique per
 * account: a repeat of the same order returns the first result marked `replay: true` (a
 * canceled one too); a different order under the same id is refused (IDEMPOTENCY_CONFLICT).
 * In hedge mode `positionSide` says which position the order opens (buy long, sell short) or
 * closes (sell long, buy short); in one-way mode it is left out and a buy against a short
 * position reduces it (and, beyond it, flips to long unless `reduceOnly`). A close is cut to
 * the position it closes; the result's `qty` says what filled.
 */
export type PlaceOrderRequest = ExchangeOrderRequest | LimitOrderRequest;

export const ORDER_TYPES = ['market', 'limit'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];
/** immediate or cancel: fills what it can now, within the limit, and cancels the rest */
export const TIMES_IN_FORCE = ['IOC'] as const;
export type TimeInForce = (typeof TIMES_IN_FORCE)[number];

interface OrderFields {
  account: string;
  clientOrderId: string;
  instrument: InstrumentId;
  side: OrderSide;
  positionSide?: PositionSide;
  /** contracts */
  qty: string;
  /** never increase a position: refused if it would open, cut to the position if it would flip or overshoot */
  reduceOnly?: boolean;
}

/** A market order: fills at the current fill price, as much as the liquidity allows (all of it by default). */
export interface ExchangeOrderRequest extends OrderFields {
  type?: 'market';
}

/**
 * Fills at the current fill price (as a market order would) only if that price is within the
 * limit: a buy at or below `price`, a sell at or above; otherwise nothing fills and the order
 * ends canceled (PRICE_BEYOND_LIMIT). What the liquidity does not cover is canceled.
 */
export interface LimitOrderRequest extends OrderFields {
  type: 'limit';
  /** the limit, a positive decimal string on the instrument's tick */
  price: string;
  timeInForce: TimeInForce;
}

/** Why (part of) an order was canceled instead of filled. */
export type CancelReason = 'PRICE_BEYOND_LIMIT' | 'INSUFFICIENT_LIQUIDITY';

/** One effect of an order on one position side: a one-way flip is a close leg then an open leg. */
export interface FillLeg {
  side: PositionSide;
  action: FillAction;
  qty: string;
  /** contracts on that position side before and after the leg */
  positionBefore: string;
  positionAfter: string;
  /** realised PnL of a close leg, "0" for an open */
  realisedPnl: string;
}

export interface FilledOrder {
  status: 'filled';
  account: string;
  clientOrderId: string;
  /** assigned by the exchange */
  orderId: string;
  instrument: InstrumentId;
  side: OrderSide;
  /** what was asked; `qty` (what filled) is less when a reduce-only order was cut to the position, or the liquidity cut it */
  requestedQty: string;
  qty: string;
  /** the fill price: the feed price moved against the taker by the slippage, on the tick */
  price: string;
  /** qty × contract size × price × fee rate, in USDT */
  fee: string;
  feeCurrency: 'USDT';
  realisedPnl: string;
  leverage: number;
  marginMode: MarginMode;
  filledMs: number;
  legs: FillLeg[];
  /** true when this is the stored result of an order applied before */
  replay: boolean;
  type: OrderType;
  /** a limit order's limit and time in force; absent for a market order */
  limitPrice?: string;
  timeInForce?: TimeInForce;
  /** PARTIALLY_FILLED when the liquidity cut the order: `remainingQty` was canceled */
  orderStatus: 'FILLED' | 'PARTIALLY_FILLED';
  /** contracts asked but not filled for want of liquidity (canceled); "0" when FILLED. A reduce-only cut is not counted. */
  remainingQty: string;
  /** INSUFFICIENT_LIQUIDITY when PARTIALLY_FILLED */
  cancelReason?: CancelReason;
  /** true on the close the exchange itself made, liquidating the position (`POST /admin/liquidate`) */
  liquidation?: true;
}

/**
 * An order accepted but of which nothing filled (an IOC limit order beyond its limit), kept
 * under its client order id like a fill: no position change, no fee, nothing in the ledger.
 */
export interface CanceledOrder {
  status: 'canceled';
  orderStatus: 'CANCELED';
  account: string;
  clientOrderId: string;
  orderId: string;
  instrument: InstrumentId;
  side: OrderSide;
  type: OrderType;
  limitPrice?: string;
  timeInForce?: TimeInForce;
  requestedQty: string;
  /** "0": nothing filled */
  qty: string;
  /** what was to fill (after a reduce-only cut), all canceled */
  remainingQty: string;
  cancelReason: CancelReason;
  /** the fill price the order was checked against (what a market order would have filled at) */
  marketPrice: string;
  message: string;
  canceledMs: number;
  replay: boolean;
}

export interface RejectedOrder {
  status: 'rejected';
  /** as sent, null when missing or not a string */
  account: string | null;
  clientOrderId: string | null;
  /**
   * INVALID_REQUEST, INVALID_QTY, QTY_ABOVE_MAX, UNKNOWN_ACCOUNT, INVALID_POSITION_SIDE, INSUFFICIENT_MARGIN,
   * REDUCE_ONLY_WOULD_INCREASE, NO_POSITION, IDEMPOTENCY_CONFLICT, or an injected code
   */
  code: string;
  message: string;
}

/** What a market order gets: with liquidity at least one step, it always fills something or is rejected. */
export type OrderResult = FilledOrder | RejectedOrder;
/** What any order gets, a limit order included. */
export type OrderOutcome = OrderResult | CanceledOrder;

export interface PlaceOrdersRequest {
  orders: PlaceOrderRequest[];
}

/** One result per order, in the order sent; the orders are applied in that order. */
export interface PlaceOrdersResponse {
  results: OrderOutcome[];
}

/** What became of orders placed before: `POST /exchange/orders/lookup`, at most the batch size. */
export interface LookupOrdersRequest {
  orders: { account: string; clientOrderId: string }[];
}

/**
 * Per order asked, in order: its stored fill (as first answered, `replay: false`), or null if
 * nothing of it ever filled (a canceled IOC order too: placing it again answers its stored
 * cancel, so it cannot fill twice).
 */
export interface LookupOrdersResponse {
  results: (FilledOrder | null)[];
}

export interface PositionView {
  instrument: InstrumentId;
  side: PositionSide;
  /** contracts, > 0 */
  qty: string;
  avgEntryPrice: string;
  leverage: number;
  marginMode: MarginMode;
  /** USDT locked: entry notional / leverage */
  margin: string;
  /** realised since the position was opened */
  realisedPnl: string;
  /**
   * where the exchange would liquidate it ("0": never, a long backed beyond its entry): the
   * price at which its backing falls to the maintenance margin (sim/exchange/liquidation.ts)
   */
  liquidationPrice: string;
}

export interface PositionsView extends AccountView {
  /** cumulative over the account's life */
  realisedPnl: string;
  fees: string;
  /** the settings per instrument that were set; others are the defaults (10, cross) */
  leverage: LeverageView[];
  /** open positions only */
  positions: PositionView[];
}

/** GET /exchange/equity?account=: what the account is worth now, and what was paid into it. */
export interface EquityView {
  account: string;
  atMs: number;
  /** USDT wallet balance (margin included) */
  wallet: string;
  /** of the open positions at the feed price */
  unrealisedPnl: string;
  /** wallet + unrealisedPnl */
  equity: string;
  /** USDT deposited and withdrawn over the account's life; netDeposits = deposited − withdrawn */
  deposited: string;
  withdrawn: string;
  netDeposits: string;
  positions: {
    instrument: InstrumentId;
    side: PositionSide;
    qty: string;
    markPrice: string;
    unrealisedPnl: string;
  }[];
}

export interface ExchangeLedgerView {
  /** the journal replayed over the openings gives the balances, totals equal deposits, nothing negative that may not be */
  conserved: boolean;
  /** why `conserved` is false; empty when it is true */
  problems: string[];
  /** the sum over all accounts, the house and the fee account, per currency */
  totals: Totals;
  /** everything deposited; equal to `totals` when money is conserved */
  deposits: Totals;
  /** the counterparty of every fill: pays out profits, takes losses */
  house: Totals;
  fees: Totals;
  /** losses beyond an account's wallet, borne by the house (the simulator liquidates only when asked) */
  shortfall: string;
  /** positions the exchange closed by liquidation (`POST /admin/liquidate`); not counted in ordersApplied */
  liquidations: number;
  accounts: number;
  /** orders filled (each client order id once) and their legs */
  ordersApplied: number;
  fills: number;
  /** orders answered with the stored result of their client order id */
  replays: number;
  /** orders of which nothing filled (an IOC limit beyond its limit), kept under their client order id */
  canceled: number;
  /** client order ids whose effect reached the ledger more than once; must stay 0 */
  duplicatedClientOrderIds: number;
  /** rejected orders by code */
  rejected: Record<string, number>;
  journalEntries: number;
}

/**
 * A move of USDT between two exchange accounts (a copier's, a trader's) or an escrow account
 * (`exchange:escrow:{name}`), idempotent by `key`: the same key with the same body answers the
 * first reply again (`replay: true`) and moves nothing; with another body it is refused
 * (409 IDEMPOTENCY_CONFLICT). A user account is never overdrawn: at most its available USDT
 * (wallet less used margin) leaves it (422 INSUFFICIENT_FUNDS).
 */
export interface ExchangeTransferRequest {
  key: string;
  from: string;
  to: string;
  /** USDT, a positive decimal string of at most 8 places */
  amount: string;
}

export interface ExchangeTransfer {
  key: string;
  from: string;
  to: string;
  amount: string;
  appliedMs: number;
  replay: boolean;
}

/** GET /exchange/funding/transfers?prefix=: the transfers whose key starts with prefix. */
export interface ExchangeTransfersView {
  /** with `applied`: how many journal entries carry the key (the ledger's count, not the idempotency layer's) */
  transfers: (Omit<ExchangeTransfer, 'replay'> & { applied: number })[];
  /** keys that reached the journal more than once, over all keys; must stay 0 */
  duplicatedKeys: number;
  /** transfer calls answered with the stored reply of their key */
  replays: number;
  /** USDT held by each escrow account */
  escrow: Record<string, string>;
}

/**
 * A cap on contracts per order, per instrument (test controls). `POST /admin/liquidity`: the
 * most one order fills at the current price, the rest canceled (INSUFFICIENT_LIQUIDITY); null:
 * unlimited (the default). `POST /admin/max-qty`: the most one order may carry, a larger one
 * refused (QTY_ABOVE_MAX); null: the instrument's own `maxQty`.
 */
export interface QtyCap {
  instrument: InstrumentId;
  /** a positive multiple of the instrument's qtyStep, or null */
  maxQty: string | null;
}

/**
 * `POST /admin/price-move` (test control): moves the instrument's feed price to `price` at the
 * next order placed on it (of `account` only, when given), just before that order is decided:
 * the price moving "between sizing and fill". Fires once; arming the same (instrument, account)
 * again replaces it. `hold` stops the random walk there, as `/admin/price`.
 */
export interface PriceMoveSetting {
  instrument: InstrumentId;
  /** a positive decimal string of at most 2 places (the feed quotes to the cent) */
  price: string;
  account: string | null;
  hold: boolean;
}

export interface PriceView {
  instrument: InstrumentId;
  /** the feed price */
  price: string;
  /** what a market buy or sell fills at now, slippage included */
  buyPrice: string;
  sellPrice: string;
}

/** The events WebSocket: `?account=A&account=B` narrows it to those accounts' fills. */
export const EXCHANGE_EVENTS_PATH = '/exchange/events';

/**
 * Published on the events WebSocket for each fill leg of every account (a trader's own
 * orders too): the fields a TraderSignal is built from.
 */
export interface FillEvent {
  type: 'fill';
  account: string;
  instrument: InstrumentId;
  /** the position side opened or closed */
  side: PositionSide;
  action: FillAction;
  qty: string;
  price: string;
  leverage: number;
  /** contracts on that side before this fill */
  positionBefore: string;
  clientOrderId: string;
  filledMs: number;
  /** unique per fill leg: `{orderId}-{leg}` */
  fillId: string;
  /**
   * true when the exchange closed the position by liquidation (the simulator does when a test
   * asks, `POST /admin/liquidate`): the whole position at the feed price, under a client order
   * id of the exchange's own (`liq-{n}`, never a copy order's)
   */
  liquidation?: true;
}

/**
 * `POST /admin/liquidate` (test control): the exchange liquidates the account's position on
 * the instrument (the `side` one in hedge mode, where it is required), closing all of it at
 * the feed price without a fee; its fill events carry `liquidation: true`. NO_POSITION (422)
 * when there is none.
 */
export interface LiquidateRequest {
  account: string;
  instrument: InstrumentId;
  side?: PositionSide;
}

/**
 * `POST /exchange/margin`: moves `amount` USDT of the account's available balance into the
 * margin of its isolated position on the instrument (`positionSide` in hedge mode), which
 * moves the position's liquidation price away. Not idempotent: each call adds again.
 * NO_POSITION, NOT_ISOLATED (a cross position draws on the whole balance already),
 * INSUFFICIENT_FUNDS (422).
 */
export interface AddMarginRequest {
  account: string;
  instrument: InstrumentId;
  positionSide?: PositionSide;
  /** USDT, a positive decimal string of at most 8 places */
  amount: string;
}

/** The answer to an AddMarginRequest, and the `margin` event on the events WebSocket. */
export interface MarginEvent {
  type: 'margin';
  account: string;
  instrument: InstrumentId;
  side: PositionSide;
  /** USDT added by this call */
  added: string;
  /** the position's margin after it */
  margin: string;
  /** the position's liquidation price after it */
  liquidationPrice: string;
  atMs: number;
  /** unique per margin change: `m-{n}` */
  eventId: string;
}

/** The first frame on the events WebSocket: from here on every fill is sent. */
export interface SubscribedFrame {
  type: 'subscribed';
  /** the accounts filtered on; empty: all accounts */
  accounts: string[];
}

/**
 * One fill leg in an account's trade history (`GET /exchange/history`): an open or a close
 * of one position side. `fee` is the order's fee shared over its legs by quantity.
 */
export interface HistoryFill {
  atMs: number;
  instrument: InstrumentId;
  side: PositionSide;
  action: FillAction;
  qty: string;
  price: string;
  fee: string;
  /** a close's realised PnL; "0" for an open */
  realisedPnl: string;
  /** contracts left on that side: "0" after a close ends the position (an import may leave it out: "0") */
  positionAfter: string;
}

/** The account's USDT wallet balance at a moment; `flow` is what a deposit (+) or withdrawal (−) moved then, "0" otherwise. */
export interface BalancePoint {
  atMs: number;
  balance: string;
  /** may be left out of an import: "0" */
  flow: string;
}

/**
 * An account's trade history, oldest first: every fill leg and a balance point after each
 * fill and deposit. The simulator keeps the latest `limit` of each per account;
 * `firstFillMs` is kept even once the first fill is dropped.
 */
export interface TradeHistoryView {
  account: string;
  firstFillMs: number | null;
  fills: HistoryFill[];
  balances: BalancePoint[];
}

/**
 * `POST /exchange/history`: replaces an account's history with a past one (tests and demos
 * of 7/30/90-day windows). Times must not be in the future; the last balance point must be
 * the account's wallet balance now (HISTORY_MISMATCH), so the history continues as it trades.
 */
export interface ImportHistoryRequest {
  account: string;
  fills: HistoryFill[];
  balances: BalancePoint[];
}
