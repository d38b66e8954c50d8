import { createHash } from 'node:crypto';
import {
  ASSETS,
  type Asset,
  CURRENCIES,
  type Currency,
  type Flow,
  HOUSE_ACCOUNTS,
  type HouseAccount,
  type Side,
} from '../clients/wire.js';
import { isDecimalString, Money, SCALE } from '../domain/money.js';
import { InvalidRequest } from './errors.js';
import { choice, object, text } from './fields.js';

/**
 * Request bodies checked field by field into typed requests with Money amounts. Amounts are
 * cut to 8 places (rounded down) on the way in, so the ledger never sees finer units.
 */

export interface SwapRequest {
  key: string;
  orderId: string;
  userId: string;
  flow: Flow;
  asset: Asset;
  qty: Money;
  usdt: Money;
}

export interface TransferRequest {
  key: string;
  from: HouseAccount;
  to: HouseAccount;
  currency: Currency;
  amount: Money;
}

export type TradeRequest =
  | { key: string; account: HouseAccount; side: 'buy'; asset: Asset; quoteAmount: Money }
  | { key: string; account: HouseAccount; side: 'sell'; asset: Asset; baseAmount: Money };

export function parseSwap(body: unknown): SwapRequest {
  const b = object(body);
  return {
    key: key(b),
    orderId: text(b, 'orderId', 64),
    userId: text(b, 'userId', 64),
    flow: choice(b, 'flow', ['open', 'close'] as const),
    asset: choice(b, 'asset', ASSETS),
    qty: amount(b, 'qty', false),
    // a close may carry no USDT at all
    usdt: amount(b, 'usdt', true),
  };
}

export function parseTransfer(body: unknown): TransferRequest {
  const b = object(body);
  const req: TransferRequest = {
    key: key(b),
    from: choice(b, 'from', HOUSE_ACCOUNTS),
    to: choice(b, 'to', HOUSE_ACCOUNTS),
    currency: choice(b, 'currency', CURRENCIES),
    amount: amount(b, 'amount', false),
  };
  if (req.from === req.to) throw new InvalidRequest('to: must differ from from');
  return req;
}

export function parseTrade(body: unknown): TradeRequest {
  const b = object(body);
  const head = {
    key: key(b),
    account: choice(b, 'account', HOUSE_ACCOUNTS),
    side: choice(b, 'side', ['buy', 'sell'] as const satisfies readonly Side[]),
    asset: choice(b, 'asset', ASSETS),
  };
  const [wanted, unwanted] =
    head.side === 'buy' ? ['quoteAmount', 'baseAmount'] : ['baseAmount', 'quoteAmount'];
  if (b[unwanted] !== undefined) throw new InvalidRequest(`${unwanted}: not allowed for a ${head.side}`);
  const value = amount(b, wanted, false);
  return head.side === 'buy'
    ? { ...head, side: 'buy', quoteAmount: value }
    : { ...head, side: 'sell', baseAmount: value };
}

/**
 * What identifies a request for idempotency: same key with another fingerprint is a conflict.
 * Field order is fixed by the parsers and Money prints normalized, so equal requests print
 * equal; hashed because one is kept per key for the simulator's whole life.
 */
export function fingerprint(endpoint: string, request: object): string {
  return createHash('sha1').update(endpoint).update('\n').update(JSON.stringify(request)).digest('base64');
}

function key(b: Record<string, unknown>): string {
  return text(b, 'key', 128);
}

function amount(b: Record<string, unknown>, field: string, zeroAllowed: boolean): Money {
  const v = b[field];
  if (!isDecimalString(v)) throw new InvalidRequest(`${field}: expected a decimal string like "0.5"`);
  const m = new Money(v).toDecimalPlaces(SCALE, Money.ROUND_DOWN);
  if (m.lt(0) || (!zeroAllowed && m.isZero())) {
    throw new InvalidRequest(`${field}: expected a ${zeroAllowed ? 'non-negative' : 'positive'} amount`);
  }
  return m;
}
