import type {
  CounterSwapResponse,
  Currency,
  FundingTransferResponse,
  TradeMarketResponse,
} from '../clients/wire.js';
import { fmt, Money, SCALE } from '../domain/money.js';
import { userAccount } from './accounts.js';
import { Rejected } from './errors.js';
import type { Ledger, Posting } from './ledger.js';
import type { SwapRequest, TradeRequest, TransferRequest } from './requests.js';

/**
 * The three simulated services as postings on the ledger. Pure: the price and the fee rate
 * come in, so the trade math is testable to the last satoshi.
 */

const floor8 = (m: Money): Money => m.toDecimalPlaces(SCALE, Money.ROUND_DOWN);

/** Zero postings say nothing (a close without USDT, a fee that rounds to nothing). */
function post(postings: Posting[], account: string, currency: Currency, amount: Money): void {
  if (!amount.isZero()) postings.push({ account, currency, amount });
}

/**
 * Open: the user pays the premium to the swap house, and the option house takes the delta the
 * swap house gives up. Close reverses both legs.
 */
export function swapPostings(req: SwapRequest): Posting[] {
  const sign = req.flow === 'open' ? 1 : -1;
  const usdt = req.usdt.times(sign);
  const qty = req.qty.times(sign);
  const postings: Posting[] = [];
  post(postings, userAccount(req.userId), 'USDT', usdt.negated());
  post(postings, 'house:swap', 'USDT', usdt);
  post(postings, 'house:swap', req.asset, qty.negated());
  post(postings, 'house:options', req.asset, qty);
  return postings;
}

export function counterSwap(ledger: Ledger, req: SwapRequest): CounterSwapResponse {
  ledger.apply(req.key, swapPostings(req));
  return { key: req.key, applied: true };
}

export function transferPostings(req: TransferRequest): Posting[] {
  return [
    { account: req.from, currency: req.currency, amount: req.amount.negated() },
    { account: req.to, currency: req.currency, amount: req.amount },
  ];
}

export function fundingTransfer(ledger: Ledger, req: TransferRequest): FundingTransferResponse {
  ledger.apply(req.key, transferPostings(req));
  return { key: req.key, amount: fmt(req.amount) };
}

export interface Fill {
  baseQty: Money;
  quoteQty: Money;
  fee: Money;
  feeCurrency: Currency;
  postings: Posting[];
}

/**
 * A market order against `market` at `price`, the fee taken in what the account receives:
 * a buy gets floor8(quote/price) less the fee in the asset, a sell gets floor8(base*price)
 * less the fee in USDT. Rounding down leaves the crumbs with the market, never the house.
 */
export function fillTrade(req: TradeRequest, price: Money, feeRate: Money): Fill {
  const postings: Posting[] = [];
  if (req.side === 'buy') {
    const quote = req.quoteAmount;
    const gross = floor8(quote.div(price));
    if (gross.isZero())
      throw new Rejected('AMOUNT_TOO_SMALL', `quoteAmount buys no ${req.asset} at ${fmt(price)}`);
    const fee = floor8(gross.times(feeRate));
    const net = gross.minus(fee);
    post(postings, req.account, 'USDT', quote.negated());
    post(postings, 'market', 'USDT', quote);
    post(postings, 'market', req.asset, gross.negated());
    post(postings, req.account, req.asset, net);
    post(postings, 'fees', req.asset, fee);
    return { baseQty: net, quoteQty: quote, fee, feeCurrency: req.asset, postings };
  }
  const base = req.baseAmount;
  const grossQuote = floor8(base.times(price));
  if (grossQuote.isZero())
    throw new Rejected('AMOUNT_TOO_SMALL', `baseAmount sells for no USDT at ${fmt(price)}`);
  const fee = floor8(grossQuote.times(feeRate));
  const net = grossQuote.minus(fee);
  post(postings, req.account, req.asset, base.negated());
  post(postings, 'market', req.asset, base);
  post(postings, 'market', 'USDT', grossQuote.negated());
  post(postings, req.account, 'USDT', net);
  post(postings, 'fees', 'USDT', fee);
  return { baseQty: base, quoteQty: net, fee, feeCurrency: 'USDT', postings };
}

export function tradeMarket(
  ledger: Ledger,
  req: TradeRequest,
  price: Money,
  feeRate: Money,
): TradeMarketResponse {
  const fill = fillTrade(req, price, feeRate);
  ledger.apply(req.key, fill.postings);
  return {
    key: req.key,
    price: fmt(price),
    baseQty: fmt(fill.baseQty),
    quoteQty: fmt(fill.quoteQty),
    fee: fmt(fill.fee),
    feeCurrency: fill.feeCurrency,
  };
}
