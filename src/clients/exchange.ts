import { WebSocket } from 'undici';
import {
  type AccountView,
  type AddMarginRequest,
  type CanceledOrder,
  type CreateAccountRequest,
  type EquityView,
  EXCHANGE_EVENTS_PATH,
  type ExchangeLedgerView,
  type ExchangeOrderRequest,
  type ExchangeTransfer,
  type ExchangeTransferRequest,
  type ExchangeTransfersView,
  type FillEvent,
  type FilledOrder,
  type ImportHistoryRequest,
  type InstrumentId,
  type InstrumentSpec,
  type LeverageView,
  type LimitOrderRequest,
  type MarginEvent,
  type OrderOutcome,
  type OrderResult,
  type PlaceOrderRequest,
  type PositionsView,
  type PriceView,
  type SetLeverageRequest,
  type TradeHistoryView,
} from './exchange-wire.js';
import { type Check, DownstreamError, HttpJson, isObject } from './http-json.js';

export type * from './exchange-wire.js';
export { DownstreamError } from './http-json.js';

/**
 * The derivatives exchange (the simulator's, or one that speaks its wire contract). Calls
 * fail with DownstreamError: the exchange's code (422/409 for a rejected single order),
 * or TIMEOUT, UNAVAILABLE, BAD_RESPONSE, HTTP_{status}. Orders are idempotent by
 * clientOrderId per account, so any call may be repeated after a timeout.
 */
export interface ExchangeClient {
  /** creates the account if new, then deposits `balances` (each call deposits again) */
  createAccount(req: CreateAccountRequest): Promise<AccountView>;
  setLeverage(req: SetLeverageRequest): Promise<LeverageView>;
  /**
   * One order: its fill (`orderStatus` FILLED or PARTIALLY_FILLED, `remainingQty` canceled),
   * or a DownstreamError with the rejection's code (INSUFFICIENT_MARGIN, ...). A limit order
   * may also end canceled (nothing filled, `cancelReason`), which is an answer, not an error.
   */
  placeOrder(order: LimitOrderRequest): Promise<FilledOrder | CanceledOrder>;
  // last: what Parameters<> of this method reads, the order every caller before limits sent
  placeOrder(order: ExchangeOrderRequest): Promise<FilledOrder>;
  /**
   * A batch, applied in order: one result per order, filled, canceled (limit orders only) or
   * rejected with its code. The call as a whole fails only for the batch (400, 413, 429, 5xx,
   * timeout).
   */
  placeOrders<O extends PlaceOrderRequest>(
    orders: readonly O[],
  ): Promise<(O extends LimitOrderRequest ? OrderOutcome : OrderResult)[]>;
  /**
   * What became of orders placed before (a batch that timed out, a run that crashed): per
   * (account, clientOrderId), in order, its stored fill, or null if it never filled. Places
   * nothing; at most the batch size per call.
   */
  lookupOrders(refs: readonly { account: string; clientOrderId: string }[]): Promise<(FilledOrder | null)[]>;
  positions(account: string): Promise<PositionsView>;
  /**
   * Adds margin to an isolated position (AddMarginRequest; not idempotent): its new margin and
   * liquidation price. NO_POSITION, NOT_ISOLATED, INSUFFICIENT_FUNDS (422).
   */
  addMargin(req: AddMarginRequest): Promise<MarginEvent>;
  /**
   * Moves USDT between accounts and escrows, once per key (ExchangeTransferRequest): safe to
   * repeat with the same body after a timeout or a crash. Fails with INSUFFICIENT_FUNDS,
   * UNKNOWN_ACCOUNT (422) or IDEMPOTENCY_CONFLICT (409), which no repeat changes.
   */
  transfer(req: ExchangeTransferRequest): Promise<ExchangeTransfer>;
  /** the transfers whose key starts with `prefix`, each with how many times the ledger applied it */
  transfers(prefix?: string): Promise<ExchangeTransfersView>;
  /** the account's equity (wallet + unrealised PnL at the feed price) and its cumulative deposits */
  equity(account: string): Promise<EquityView>;
  ledger(): Promise<ExchangeLedgerView>;
  price(instrument: InstrumentId): Promise<PriceView>;
  instruments(): Promise<InstrumentSpec[]>;
  /** the account's fills and balance points (from `sinceMs` on), oldest first; UNKNOWN_ACCOUNT if none */
  history(account: string, sinceMs?: number): Promise<TradeHistoryView>;
  /** replaces the account's history with a past one (the simulator's admin side; HISTORY_MISMATCH, UNKNOWN_ACCOUNT) */
  importHistory(req: ImportHistoryRequest): Promise<TradeHistoryView>;
  close(): Promise<void>;
}

export interface ExchangeClientOptions {
  /** per call; default 2000 */
  timeoutMs?: number;
  /** keep-alive connections; default 8 */
  connections?: number;
}

export function createExchangeClient(baseUrl: string, opts: ExchangeClientOptions = {}): ExchangeClient {
  const http = new HttpJson({ timeoutMs: opts.timeoutMs ?? 2000, connections: opts.connections ?? 8 });
  // the answer's type follows the order's: a market order is never canceled (the exchange
  // cancels only beyond a limit), which the checks below hold it to
  const placeOrder = (order: PlaceOrderRequest): Promise<never> =>
    http.call(baseUrl, 'POST', '/exchange/order', order, placed(order)) as Promise<never>;
  const placeOrders: ExchangeClient['placeOrders'] = (orders) =>
    http.call(baseUrl, 'POST', '/exchange/orders', { orders }, batchResults(orders)) as never;
  return {
    createAccount: (req) => http.call(baseUrl, 'POST', '/exchange/accounts', req, accountView),
    setLeverage: (req) => http.call(baseUrl, 'POST', '/exchange/leverage', req, leverageView),
    placeOrder,
    placeOrders,
    lookupOrders: (refs) =>
      http.call(
        baseUrl,
        'POST',
        '/exchange/orders/lookup',
        { orders: refs.map((r) => ({ account: r.account, clientOrderId: r.clientOrderId })) },
        lookedUp(refs.length),
      ),
    positions: (account) =>
      http.call(
        baseUrl,
        'GET',
        `/exchange/positions?account=${encodeURIComponent(account)}`,
        undefined,
        (b) =>
          isObject(b) && Array.isArray(b.positions) && typeof b.account === 'string'
            ? (b as unknown as PositionsView)
            : undefined,
      ),
    addMargin: (req) =>
      http.call(baseUrl, 'POST', '/exchange/margin', req, (b) =>
        isObject(b) && b.type === 'margin' && typeof b.liquidationPrice === 'string'
          ? (b as unknown as MarginEvent)
          : undefined,
      ),
    transfer: (req) =>
      http.call(
        baseUrl,
        'POST',
        '/exchange/funding/transfer',
        { key: req.key, from: req.from, to: req.to, amount: req.amount },
        (b) =>
          isObject(b) && b.key === req.key && typeof b.amount === 'string'
            ? (b as unknown as ExchangeTransfer)
            : undefined,
      ),
    transfers: (prefix = '') =>
      http.call(
        baseUrl,
        'GET',
        `/exchange/funding/transfers?prefix=${encodeURIComponent(prefix)}`,
        undefined,
        (b) =>
          isObject(b) && Array.isArray(b.transfers) && typeof b.duplicatedKeys === 'number'
            ? (b as unknown as ExchangeTransfersView)
            : undefined,
      ),
    equity: (account) =>
      http.call(baseUrl, 'GET', `/exchange/equity?account=${encodeURIComponent(account)}`, undefined, (b) =>
        isObject(b) &&
        b.account === account &&
        typeof b.equity === 'string' &&
        typeof b.netDeposits === 'string'
          ? (b as unknown as EquityView)
          : undefined,
      ),
    ledger: () =>
      http.call(baseUrl, 'GET', '/exchange/ledger', undefined, (b) =>
        isObject(b) && typeof b.conserved === 'boolean' && typeof b.duplicatedClientOrderIds === 'number'
          ? (b as unknown as ExchangeLedgerView)
          : undefined,
      ),
    price: (instrument) =>
      http.call(baseUrl, 'GET', `/exchange/price?instrument=${instrument}`, undefined, (b) =>
        isObject(b) && b.instrument === instrument && typeof b.price === 'string'
          ? (b as unknown as PriceView)
          : undefined,
      ),
    instruments: () =>
      http.call(baseUrl, 'GET', '/exchange/instruments', undefined, (b) =>
        isObject(b) && Array.isArray(b.instruments) ? (b.instruments as InstrumentSpec[]) : undefined,
      ),
    history: (account, sinceMs) =>
      http.call(
        baseUrl,
        'GET',
        `/exchange/history?account=${encodeURIComponent(account)}${sinceMs === undefined ? '' : `&sinceMs=${sinceMs}`}`,
        undefined,
        historyView,
      ),
    importHistory: (req) => http.call(baseUrl, 'POST', '/exchange/history', req, historyView),
    close: () => http.close(),
  };
}

const historyView: Check<TradeHistoryView> = (b) =>
  isObject(b) && typeof b.account === 'string' && Array.isArray(b.fills) && Array.isArray(b.balances)
    ? (b as unknown as TradeHistoryView)
    : undefined;

// Light checks: the shape that tells answers apart, not every field (a batch may hold thousands).

const accountView: Check<AccountView> = (b) =>
  isObject(b) && typeof b.account === 'string' && isObject(b.balances)
    ? (b as unknown as AccountView)
    : undefined;

const leverageView: Check<LeverageView> = (b) =>
  isObject(b) && typeof b.leverage === 'number' ? (b as unknown as LeverageView) : undefined;

const placed =
  (order: PlaceOrderRequest): Check<FilledOrder | CanceledOrder> =>
  (b) =>
    isObject(b) &&
    (b.status === 'filled' || (b.status === 'canceled' && order.type === 'limit')) &&
    b.clientOrderId === order.clientOrderId
      ? (b as unknown as FilledOrder | CanceledOrder)
      : undefined;

const batchResults =
  (orders: readonly PlaceOrderRequest[]): Check<OrderOutcome[]> =>
  (b) => {
    if (!isObject(b) || !Array.isArray(b.results) || b.results.length !== orders.length) return undefined;
    for (let i = 0; i < b.results.length; i++) {
      const r: unknown = b.results[i];
      if (!isObject(r)) return undefined;
      if (
        r.status === 'canceled'
          ? orders[i]?.type !== 'limit'
          : r.status !== 'filled' && r.status !== 'rejected'
      )
        return undefined;
    }
    return b.results as OrderOutcome[];
  };

const lookedUp =
  (count: number): Check<(FilledOrder | null)[]> =>
  (b) => {
    if (!isObject(b) || !Array.isArray(b.results) || b.results.length !== count) return undefined;
    for (const r of b.results) if (r !== null && (!isObject(r) || r.status !== 'filled')) return undefined;
    return b.results as (FilledOrder | null)[];
  };

export interface FillSubscriberOptions {
  /** only these accounts' fills; all accounts when left out or empty */
  accounts?: readonly string[];
  onFill: (event: FillEvent) => void;
  /** a margin change of a position (`type: 'margin'`, POST /exchange/margin) */
  onMargin?: (event: MarginEvent) => void;
  /**
   * The connection ended without close() being called: the simulator stopped, or dropped this
   * subscriber for not keeping up. Fills after that are not delivered; resubscribe and read
   * positions to catch up.
   */
  onClose?: (info: { code: number; reason: string }) => void;
  /** a frame that is not a fill event (it is skipped) */
  onBadFrame?: (frame: string) => void;
  /** how long to wait for the subscription to be confirmed; default 5000 ms */
  timeoutMs?: number;
}

export interface FillSubscription {
  /** closes the connection; onClose is not called */
  close(): Promise<void>;
}

/**
 * Subscribes to the exchange's fill events over WebSocket (undici's client; Node 20 has no
 * global WebSocket without a flag). Resolves once the exchange confirmed the subscription:
 * every fill from then on is delivered, in the order the exchange made them.
 */
export function subscribeFills(baseUrl: string, opts: FillSubscriberOptions): Promise<FillSubscription> {
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}${EXCHANGE_EVENTS_PATH}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const account of opts.accounts ?? []) url.searchParams.append('account', account);
  const timeoutMs = opts.timeoutMs ?? 5000;

  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let subscribed = false;
    let closing = false;
    let markClosed: () => void = () => {};
    const closed = new Promise<void>((r) => {
      markClosed = r;
    });
    const timer = setTimeout(() => {
      reject(new DownstreamError('TIMEOUT', undefined, `events: not subscribed within ${timeoutMs} ms`));
      ws.close();
    }, timeoutMs);

    ws.onmessage = (ev) => {
      const text = typeof ev.data === 'string' ? ev.data : String(ev.data);
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        opts.onBadFrame?.(text);
        return;
      }
      if (!subscribed) {
        if (isObject(frame) && frame.type === 'subscribed') {
          subscribed = true;
          clearTimeout(timer);
          resolve({
            close() {
              closing = true;
              ws.close(1000);
              return closed;
            },
          });
        } else opts.onBadFrame?.(text);
        return;
      }
      if (isFillEvent(frame)) opts.onFill(frame);
      else if (isObject(frame) && frame.type === 'margin') opts.onMargin?.(frame as unknown as MarginEvent);
      else opts.onBadFrame?.(text);
    };
    // a refused handshake (undici 6) fires only an error; once open, an error is followed by a close
    ws.onerror = () => {
      if (subscribed) return;
      clearTimeout(timer);
      markClosed();
      reject(new DownstreamError('UNAVAILABLE', undefined, `events: ${url.href} refused the subscription`));
    };
    ws.onclose = (ev) => {
      clearTimeout(timer);
      markClosed();
      if (!subscribed) {
        reject(
          new DownstreamError('UNAVAILABLE', undefined, `events: closed before subscribing (${ev.code})`),
        );
      } else if (!closing) opts.onClose?.({ code: ev.code, reason: ev.reason });
    };
  });
}

function isFillEvent(v: unknown): v is FillEvent {
  return (
    isObject(v) &&
    v.type === 'fill' &&
    typeof v.account === 'string' &&
    typeof v.instrument === 'string' &&
    (v.side === 'long' || v.side === 'short') &&
    (v.action === 'open' || v.action === 'close') &&
    typeof v.qty === 'string' &&
    typeof v.price === 'string' &&
    typeof v.leverage === 'number' &&
    typeof v.positionBefore === 'string' &&
    typeof v.clientOrderId === 'string' &&
    typeof v.filledMs === 'number' &&
    typeof v.fillId === 'string'
  );
}
