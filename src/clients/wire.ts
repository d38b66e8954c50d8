/**
 * The wire contract between the settlement engine and the downstream services (and the
 * simulator that plays them). Amounts are decimal strings, never JS numbers.
 */

export const ASSETS = ['BTC', 'ETH'] as const;
export type Asset = (typeof ASSETS)[number];

export const CURRENCIES = ['USDT', 'BTC', 'ETH'] as const;
export type Currency = (typeof CURRENCIES)[number];

/** The house accounts the engine moves money between and trades from. */
export const HOUSE_ACCOUNTS = ['house:swap', 'house:funding'] as const;
export type HouseAccount = (typeof HOUSE_ACCOUNTS)[number];

export type Flow = 'open' | 'close';
export type Side = 'buy' | 'sell';

/** `key` is the idempotency key, `{orderId}:{step}` as the engine forms it. */
export interface CounterSwapRequest {
  key: string;
  orderId: string;
  userId: string;
  flow: Flow;
  asset: Asset;
  qty: string;
  usdt: string;
}
export interface CounterSwapResponse {
  key: string;
  applied: true;
}

export interface FundingTransferRequest {
  key: string;
  from: HouseAccount;
  to: HouseAccount;
  currency: Currency;
  amount: string;
}
export interface FundingTransferResponse {
  key: string;
  amount: string;
}

/** A buy spends `quoteAmount` USDT; a sell sells `baseAmount` of the asset. */
export interface TradeMarketRequest {
  key: string;
  account: HouseAccount;
  side: Side;
  asset: Asset;
  quoteAmount?: string;
  baseAmount?: string;
}
export interface TradeMarketResponse {
  key: string;
  price: string;
  baseQty: string;
  quoteQty: string;
  fee: string;
  feeCurrency: string;
}

/**
 * The simulated endpoints faults can be set for; `*` is the default of all of them. The
 * counter's listing (`counter/orders`, read by the reconciler) takes only latency and jitter.
 * The exchange's order endpoints draw error, rate limit and timeout once per request, and a
 * rejection (`rejectRate`, `rejectCode`) once per order, so a batch gets some rejected orders.
 * `exchange/funding` (the exchange's transfers) takes latency, error, rate limit and timeout, once per call.
 */
export const FAULT_ENDPOINTS = [
  'counter/swap',
  'funding/transfer',
  'trade/market',
  'counter/orders',
  'exchange/order',
  'exchange/orders',
  'exchange/funding',
] as const;
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];

export interface FaultRule {
  latencyMs?: number;
  jitterMs?: number;
  /** retryable 500 INTERNAL or 503 UNAVAILABLE, half each */
  errorRate?: number;
  /** 429 RATE_LIMITED */
  rateLimitRate?: number;
  /** the effect is applied, but the response is held `timeoutHoldMs` so the caller times out */
  timeoutRate?: number;
  timeoutHoldMs?: number;
  /** non-retryable 422 `rejectCode` */
  rejectRate?: number;
  rejectCode?: string;
}
export type FaultSettings = { [E in FaultEndpoint | '*']?: FaultRule };

export type Balances = Record<string, Partial<Record<Currency, string>>>;
export type Totals = Partial<Record<Currency, string>>;

export interface LedgerView {
  balances: Balances;
  totals: Totals;
  initialTotals: Totals;
  conserved: boolean;
  /** why `conserved` is false; empty when it is true */
  problems: string[];
  doubleEffects: number;
  /** calls that arrived while an earlier call of the same order was still unanswered */
  overlaps: number;
  /** calls answered with the stored result of a key applied before */
  replays: number;
  journalEntries: number;
  effects: Record<string, number>;
}

export interface CounterOrderRow {
  id: number;
  orderId: string;
  shard: number;
  userId: string | null;
  bizType: string;
  flow: string | null;
  asset: string | null;
  qty: string | null;
  usdt: string | null;
  createdMs: number;
}
