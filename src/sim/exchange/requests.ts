import {
  type CreateAccountRequest,
  INSTRUMENT_IDS,
  type InstrumentId,
  MARGIN_MODES,
  type MarginMode,
  ORDER_TYPES,
  type OrderSide,
  type OrderType,
  POSITION_MODES,
  type PositionMode,
  type PositionSide,
  TIMES_IN_FORCE,
  type TimeInForce,
} from '../../clients/exchange-wire.js';
import { CURRENCIES, type Currency } from '../../clients/wire.js';
import { isDecimalString, Money, SCALE } from '../../domain/money.js';
import { InvalidRequest } from '../errors.js';
import { choice, object, text } from '../fields.js';
import { formatUnits, isMultiple, parseUnits, type Units } from './fixed.js';
import { RULES } from './instruments.js';
import { isSystemAccount } from './ledger.js';
import type { PriceMove } from './price-moves.js';

/** Request bodies of the exchange checked field by field; the error names the field. */

export interface OrderRequest {
  account: string;
  clientOrderId: string;
  instrument: InstrumentId;
  side: OrderSide;
  positionSide: PositionSide | undefined;
  /** contracts in units; null when finer than 8 places. Checked against the instrument's rules by the engine (INVALID_QTY). */
  qty: Units | null;
  /** as sent */
  qtyText: string;
  reduceOnly: boolean;
  type: OrderType;
  /** a limit order's limit and time in force, both undefined for a market order */
  limit: OrderLimit | undefined;
}

export interface OrderLimit {
  /** on the instrument's tick */
  price: Units;
  /** canonical print, what a repeat is compared on and the result shows */
  priceText: string;
  timeInForce: TimeInForce;
}

export interface AccountRequest {
  account: string;
  positionMode: PositionMode | undefined;
  deposits: Map<Currency, Units>;
}

/** A funding transfer (ExchangeTransferRequest) checked: the amount in units and as printed. */
export interface TransferRequest {
  key: string;
  from: string;
  to: string;
  amount: Units;
  /** the amount in its canonical print, what a repeat of the key is compared on */
  amountText: string;
}

/** POST /admin/liquidate, checked */
export interface LiquidateRequest {
  account: string;
  instrument: InstrumentId;
  side: PositionSide | undefined;
}

/** POST /exchange/margin (AddMarginRequest), checked: the amount in units and as printed */
export interface AddMarginRequest {
  account: string;
  instrument: InstrumentId;
  positionSide: PositionSide | undefined;
  amount: Units;
  amountText: string;
}

export interface LeverageRequest {
  account: string;
  instrument: InstrumentId;
  leverage: number;
  marginMode: MarginMode;
}

/** a sub-account is `{account}/{sub}` */
const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,63}$/;
const SIDES = ['buy', 'sell'] as const;
const POSITION_SIDES = ['long', 'short'] as const;
/** room for `{signalId}:{copierId}` */
export const MAX_CLIENT_ORDER_ID = 128;

export function parseOrder(body: unknown): OrderRequest {
  const b = object(body, 'order');
  const reduceOnly = b.reduceOnly;
  if (reduceOnly !== undefined && typeof reduceOnly !== 'boolean') {
    throw new InvalidRequest('reduceOnly: expected true or false');
  }
  const qty = b.qty;
  if (!isDecimalString(qty)) throw new InvalidRequest('qty: expected a decimal string like "0.5"');
  const q = parseUnits(qty) ?? null;
  if (qty.startsWith('-') || q === 0n) {
    throw new InvalidRequest('qty: expected a positive quantity');
  }
  const instrument = choice(b, 'instrument', INSTRUMENT_IDS);
  const type = b.type === undefined ? 'market' : choice(b, 'type', ORDER_TYPES);
  return {
    account: account(b),
    clientOrderId: text(b, 'clientOrderId', MAX_CLIENT_ORDER_ID),
    instrument,
    side: choice(b, 'side', SIDES),
    positionSide: b.positionSide === undefined ? undefined : choice(b, 'positionSide', POSITION_SIDES),
    qty: q,
    qtyText: qty,
    reduceOnly: reduceOnly === true,
    type,
    limit: orderLimit(b, type, instrument),
  };
}

/** A limit order's price (positive, on the tick) and time in force (IOC); neither on a market order. */
function orderLimit(
  b: Record<string, unknown>,
  type: OrderType,
  instrument: InstrumentId,
): OrderLimit | undefined {
  if (type === 'market') {
    if (b.price !== undefined)
      throw new InvalidRequest('price: only a limit order has a price (type "limit")');
    if (b.timeInForce !== undefined) {
      throw new InvalidRequest('timeInForce: only a limit order has a time in force (type "limit")');
    }
    return undefined;
  }
  const tick = RULES[instrument].tickSize;
  const price = b.price;
  const units = isDecimalString(price) ? parseUnits(price) : undefined;
  if (units === undefined || units <= 0n) {
    throw new InvalidRequest('price: a limit order needs a positive decimal string like "60000.5"');
  }
  if (!isMultiple(units, tick)) {
    throw new InvalidRequest(
      `price: ${price} is not on the tick ${RULES[instrument].spec.tickSize} of ${instrument}`,
    );
  }
  const tif = b.timeInForce;
  if (!(TIMES_IN_FORCE as readonly unknown[]).includes(tif)) {
    throw new InvalidRequest(
      `timeInForce: a limit order needs ${TIMES_IN_FORCE.join(' or ')} (the only one supported), got ${JSON.stringify(tif) ?? 'none'}`,
    );
  }
  const timeInForce = tif as TimeInForce;
  return { price: units, priceText: formatUnits(units), timeInForce };
}

export interface QtyCapRequest {
  instrument: InstrumentId;
  /** undefined: unlimited */
  maxQty: Units | undefined;
}

/** `{instrument, maxQty}`: maxQty a positive multiple of the instrument's qty step, or null for unlimited. */
export function parseQtyCap(body: unknown): QtyCapRequest {
  const b = object(body, 'body');
  const instrument = choice(b, 'instrument', INSTRUMENT_IDS);
  if (b.maxQty === null) return { instrument, maxQty: undefined };
  const rules = RULES[instrument];
  const max = isDecimalString(b.maxQty) ? parseUnits(b.maxQty) : undefined;
  if (max === undefined || max <= 0n || !isMultiple(max, rules.qtyStep)) {
    throw new InvalidRequest(
      `maxQty: expected null (unlimited) or a positive multiple of ${instrument}'s step ${rules.spec.qtyStep}, like "0.5"`,
    );
  }
  return { instrument, maxQty: max };
}

/** `{instrument, price, account?, hold?}`: a price move at the next order (price-moves.ts). */
export function parsePriceMove(body: unknown): PriceMove {
  const b = object(body, 'body');
  const instrument = choice(b, 'instrument', INSTRUMENT_IDS);
  const price = b.price;
  // as /admin/price: the feed quotes to the cent
  if (typeof price !== 'string' || !/^\d{1,12}(\.\d{1,2})?$/.test(price) || Number(price) <= 0) {
    throw new InvalidRequest('price: expected a positive decimal string of at most 2 places, like "60100.5"');
  }
  if (b.hold !== undefined && typeof b.hold !== 'boolean')
    throw new InvalidRequest('hold: expected true or false');
  return {
    instrument,
    price: new Money(price),
    account: b.account === undefined ? undefined : account(b),
    hold: b.hold === true,
  };
}

/** What a rejection of an order that could not be read echoes back. */
export function echoIds(body: unknown): { account: string | null; clientOrderId: string | null } {
  const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return {
    account: typeof b.account === 'string' ? b.account : null,
    clientOrderId: typeof b.clientOrderId === 'string' ? b.clientOrderId : null,
  };
}

export interface OrderRef {
  account: string;
  clientOrderId: string;
}

/** The (account, clientOrderId) pairs of a lookup: `{orders: [{account, clientOrderId}, ...]}`. */
export function parseLookup(body: unknown, max: number): OrderRef[] {
  const orders = batchOrders(body);
  if (orders.length > max)
    throw new InvalidRequest(`orders: at most ${max} per lookup, got ${orders.length}`);
  return orders.map((o, i) => {
    try {
      const b = object(o, 'order');
      return { account: account(b), clientOrderId: text(b, 'clientOrderId', MAX_CLIENT_ORDER_ID) };
    } catch (err) {
      throw new InvalidRequest(`orders[${i}].${(err as Error).message}`);
    }
  });
}

/** The orders of a batch, unread: each is parsed on its own so that one bad order fails alone. */
export function batchOrders(body: unknown): unknown[] {
  const orders = object(body, 'body').orders;
  if (!Array.isArray(orders) || orders.length === 0) {
    throw new InvalidRequest('orders: expected a non-empty array');
  }
  return orders;
}

export function parseAccount(body: unknown): AccountRequest {
  const b = object(body, 'body') as Partial<Record<keyof CreateAccountRequest, unknown>>;
  const deposits = new Map<Currency, Units>();
  if (b.balances !== undefined) {
    const balances = object(b.balances, 'balances');
    for (const [currency, amount] of Object.entries(balances)) {
      if (!(CURRENCIES as readonly string[]).includes(currency)) {
        throw new InvalidRequest(`balances.${currency}: expected one of ${CURRENCIES.join(', ')}`);
      }
      if (!isDecimalString(amount)) {
        throw new InvalidRequest(`balances.${currency}: expected a decimal string like "1000"`);
      }
      // amounts are kept to 8 places: finer digits are cut off, as the other services do
      const m = parseUnits(new Money(amount).toDecimalPlaces(SCALE, Money.ROUND_DOWN).toFixed());
      if (m === undefined || m < 0n) {
        throw new InvalidRequest(`balances.${currency}: expected a non-negative amount`);
      }
      deposits.set(currency as Currency, m);
    }
  }
  return {
    account: account(b),
    positionMode: b.positionMode === undefined ? undefined : choice(b, 'positionMode', POSITION_MODES),
    deposits,
  };
}

export function parseLeverage(
  body: unknown,
  maxLeverage: (instrument: InstrumentId) => number,
): LeverageRequest {
  const b = object(body, 'body');
  const instrument = choice(b, 'instrument', INSTRUMENT_IDS);
  const max = maxLeverage(instrument);
  const leverage = b.leverage;
  if (!Number.isInteger(leverage) || (leverage as number) < 1 || (leverage as number) > max) {
    throw new InvalidRequest(`leverage: expected an integer from 1 to ${max}`);
  }
  return {
    account: account(b),
    instrument,
    leverage: leverage as number,
    marginMode: choice(b, 'marginMode', MARGIN_MODES),
  };
}

/** `{account, instrument, side?}` */
export function parseLiquidate(body: unknown): LiquidateRequest {
  const b = object(body, 'body');
  return {
    account: account(b),
    instrument: choice(b, 'instrument', INSTRUMENT_IDS),
    side: b.side === undefined ? undefined : choice(b, 'side', POSITION_SIDES),
  };
}

/** `{account, instrument, positionSide?, amount}` */
export function parseAddMargin(body: unknown): AddMarginRequest {
  const b = object(body, 'body');
  const amount = b.amount;
  const units = isDecimalString(amount) ? parseUnits(amount) : undefined;
  if (units === undefined || units <= 0n) {
    throw new InvalidRequest(
      'amount: expected a positive USDT decimal string of at most 8 places, like "50"',
    );
  }
  return {
    account: account(b),
    instrument: choice(b, 'instrument', INSTRUMENT_IDS),
    positionSide: b.positionSide === undefined ? undefined : choice(b, 'positionSide', POSITION_SIDES),
    amount: units,
    amountText: formatUnits(units),
  };
}

/** An escrow account of the exchange's: `exchange:escrow:{name}`, opened by its first transfer. */
const ESCROW = /^exchange:escrow:[a-z0-9-]{1,40}$/;
export const isEscrowAccount = (account: string): boolean => ESCROW.test(account);
/** `ps:{copier}:{trader}:{period}:{leg}` with ids of up to 64 characters */
const MAX_TRANSFER_KEY = 200;

export function parseTransfer(body: unknown): TransferRequest {
  const b = object(body, 'body');
  const side = (field: 'from' | 'to'): string => {
    const v = b[field];
    if (typeof v === 'string' && isEscrowAccount(v)) return v;
    return accountId(typeof v === 'string' ? v : null, field);
  };
  const req = { key: text(b, 'key', MAX_TRANSFER_KEY), from: side('from'), to: side('to') };
  if (req.from === req.to) throw new InvalidRequest('to: must differ from from');
  const amount = b.amount;
  // money is not rounded on the way in: a finer amount is the caller's mistake, said so
  const units = isDecimalString(amount) ? parseUnits(amount) : undefined;
  if (units === undefined || units <= 0n) {
    throw new InvalidRequest(
      'amount: expected a positive USDT decimal string of at most 8 places, like "12.5"',
    );
  }
  return { ...req, amount: units, amountText: formatUnits(units) };
}

/** An account id from a query string (GET /exchange/positions, the events filter). */
export function accountId(value: string | null, field = 'account'): string {
  if (value === null || !ACCOUNT.test(value) || isSystemAccount(value)) {
    throw new InvalidRequest(`${field}: expected an account id (letters, digits, _ . : @ / -; at most 64)`);
  }
  return value;
}

function account(b: Record<string, unknown>): string {
  const v = b.account;
  return accountId(typeof v === 'string' ? v : null);
}
