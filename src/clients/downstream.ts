import { isDecimalString } from '../domain/money.js';
import { type Check, HttpJson, isObject } from './http-json.js';
import type {
  CounterSwapRequest,
  FundingTransferRequest,
  FundingTransferResponse,
  TradeMarketRequest,
  TradeMarketResponse,
} from './wire.js';

export { DownstreamError } from './http-json.js';

/** The services a settlement step calls. Every call carries its idempotency key and may be repeated. */
export interface Downstream {
  counterSwap(req: CounterSwapRequest): Promise<{ key: string }>;
  fundingTransfer(req: FundingTransferRequest): Promise<FundingTransferResponse>;
  tradeMarket(req: TradeMarketRequest): Promise<TradeMarketResponse>;
  close(): Promise<void>;
}

export interface DownstreamOptions {
  counterUrl: string;
  fundingUrl: string;
  tradeUrl: string;
  /** per call */
  timeoutMs: number;
  /** keep-alive connections per service origin */
  connections: number;
}

/** Fails with DownstreamError: the service's code, or TIMEOUT, UNAVAILABLE, BAD_RESPONSE, HTTP_{status}. */
export function createDownstream(opts: DownstreamOptions): Downstream {
  const http = new HttpJson({ timeoutMs: opts.timeoutMs, connections: opts.connections });
  return {
    counterSwap: (req) => http.call(opts.counterUrl, 'POST', '/counter/swap', req, keyed(req.key)),
    fundingTransfer: (req) =>
      http.call(opts.fundingUrl, 'POST', '/funding/transfer', req, transferred(req.key)),
    tradeMarket: (req) => http.call(opts.tradeUrl, 'POST', '/trade/market', req, traded(req.key)),
    close: () => http.close(),
  };
}

// A reply for another key would mean answers got crossed: treat it as a bad response.

const keyed =
  (key: string): Check<{ key: string }> =>
  (b) =>
    isObject(b) && b.key === key ? { key } : undefined;

const transferred =
  (key: string): Check<FundingTransferResponse> =>
  (b) =>
    isObject(b) && b.key === key && isDecimalString(b.amount) ? { key, amount: b.amount } : undefined;

const traded =
  (key: string): Check<TradeMarketResponse> =>
  (b) =>
    isObject(b) &&
    b.key === key &&
    isDecimalString(b.price) &&
    isDecimalString(b.baseQty) &&
    isDecimalString(b.quoteQty) &&
    isDecimalString(b.fee) &&
    typeof b.feeCurrency === 'string'
      ? {
          key,
          price: b.price,
          baseQty: b.baseQty,
          quoteQty: b.quoteQty,
          fee: b.fee,
          feeCurrency: b.feeCurrency,
        }
      : undefined;
