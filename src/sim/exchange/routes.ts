import {
  INSTRUMENT_IDS,
  type InstrumentId,
  type OrderOutcome,
  type PriceMoveSetting,
} from '../../clients/exchange-wire.js';
import type { Asset } from '../../clients/wire.js';
import type { Money } from '../../domain/money.js';
import {
  HttpError,
  type HttpExchange,
  type HttpExchanges,
  type HttpResponse,
  queryOf,
  readJson,
  type TemplatedApp,
} from '../../infra/http.js';
import { InvalidRequest, Rejected } from '../errors.js';
import { decide, type ResolvedRule } from '../faults.js';
import { ExchangeEngine } from './engine.js';
import { equityView } from './equity.js';
import { type FillEventsSocket, mountFillEvents } from './events-socket.js';
import { ONE, parseUnits } from './fixed.js';
import { parseHistoryImport, TradeHistory } from './history.js';
import { INSTRUMENTS, RULES } from './instruments.js';
import { type PriceMove, PriceMoves } from './price-moves.js';
import {
  accountId,
  batchOrders,
  echoIds,
  type OrderRequest,
  parseAccount,
  parseAddMargin,
  parseLeverage,
  parseLiquidate,
  parseLookup,
  parseOrder,
  parsePriceMove,
  parseQtyCap,
  parseTransfer,
} from './requests.js';

/**
 * The exchange's HTTP and WebSocket side, mounted on the simulator's uWS app. Each call is
 * decided and applied synchronously by the engine; only the answer waits (latency, a held
 * timeout). Fills are published on the events WebSocket as they happen.
 */

export interface ExchangeSimOptions {
  /** taker fee rate on the notional, a decimal string in [0, 1) */
  feeRate: string;
  /** how far (basis points, integer 0-1000) a fill is from the feed price, against the taker */
  slippageBps: number;
  /** most orders in one POST /exchange/orders */
  maxBatch: number;
  /**
   * Bytes queued for one events subscriber before it is disconnected (a fill event is ~220
   * bytes: the default holds ~75,000). A subscriber that cannot keep up is dropped, never
   * waited for; it reconnects and reads positions to catch up.
   */
  eventsMaxBackpressure: number;
}

export const EXCHANGE_DEFAULTS: Readonly<ExchangeSimOptions> = Object.freeze({
  feeRate: '0.0005',
  slippageBps: 2,
  maxBatch: 1000,
  eventsMaxBackpressure: 16 * 1024 * 1024,
});

const ORDER_LIMIT = 16 * 1024;
/** an imported history: up to ~100,000 records */
const HISTORY_LIMIT = 32 * 1024 * 1024;
/** per order in a batch: far more than a well-formed order needs */
const BATCH_BYTES_PER_ORDER = 1024;

export function exchangeOptions(over: Partial<ExchangeSimOptions> = {}): ExchangeSimOptions {
  const opts = { ...EXCHANGE_DEFAULTS, ...over };
  const rate = typeof opts.feeRate === 'string' ? parseUnits(opts.feeRate) : undefined;
  if (rate === undefined || rate < 0n || rate >= ONE) {
    throw new Error(
      `exchange feeRate: expected a decimal from 0 to below 1 (8 places at most), got "${opts.feeRate}"`,
    );
  }
  if (!Number.isInteger(opts.slippageBps) || opts.slippageBps < 0 || opts.slippageBps > 1000) {
    throw new Error(`exchange slippageBps: expected an integer from 0 to 1000, got ${opts.slippageBps}`);
  }
  if (!Number.isInteger(opts.eventsMaxBackpressure) || opts.eventsMaxBackpressure < 1024) {
    throw new Error(
      `exchange eventsMaxBackpressure: expected an integer of at least 1024, got ${opts.eventsMaxBackpressure}`,
    );
  }
  if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1 || opts.maxBatch > 100_000) {
    throw new Error(`exchange maxBatch: expected an integer from 1 to 100000, got ${opts.maxBatch}`);
  }
  return opts;
}

export interface ExchangeDeps {
  httpExchanges: HttpExchanges;
  /** turns a thrown error into the error response (the simulator's one mapping) */
  fail: (ex: HttpExchange, err: unknown) => void;
  /** the current fault rule of an endpoint (settings may change at run time) */
  rule: (endpoint: 'exchange/order' | 'exchange/orders' | 'exchange/funding') => ResolvedRule;
  price: (asset: Asset) => Money;
  /** moves the feed price (a test's market move; `hold` stops the walk there) */
  movePrice: (asset: Asset, price: Money, hold: boolean) => void;
  options: ExchangeSimOptions;
  random?: () => number;
}

export interface ExchangeSim {
  readonly engine: ExchangeEngine;
  readonly history: TradeHistory;
  readonly events: FillEventsSocket;
  /** disconnects the events subscribers */
  close(): void;
}

export function mountExchange(app: TemplatedApp, deps: ExchangeDeps): ExchangeSim {
  const { httpExchanges, fail, options } = deps;
  const random = deps.random ?? Math.random;
  const engine = new ExchangeEngine({
    feeRate: options.feeRate,
    slippageBps: options.slippageBps,
    price: deps.price,
  });
  const batchLimit = ORDER_LIMIT + options.maxBatch * BATCH_BYTES_PER_ORDER;
  const history = new TradeHistory();
  const moves = new PriceMoves();
  /** an order's decision, after the price move armed for it (if any) */
  const place = (req: OrderRequest, inject: string | undefined): OrderOutcome => {
    const move = moves.take(req.instrument, req.account);
    if (move !== undefined) deps.movePrice(RULES[req.instrument].spec.asset, move.price, move.hold);
    return recorded(engine.place(req, inject));
  };
  const recorded = (result: OrderOutcome): OrderOutcome => {
    if (result.status === 'filled' && !result.replay) {
      history.filled(result, engine.walletUnits(result.account));
    }
    return result;
  };

  const post = (path: string, limit: number, handle: (ex: HttpExchange, body: unknown) => void): void => {
    app.post(path, (res: HttpResponse) => {
      const ex = httpExchanges.accept(res);
      readJson(ex, limit)
        .then((body) => handle(ex, body))
        .catch((err: unknown) => fail(ex, err));
    });
  };
  const get = (path: string, handle: (ex: HttpExchange, query: URLSearchParams) => void): void => {
    app.get(path, (res, req) => {
      const ex = httpExchanges.accept(res);
      try {
        handle(ex, queryOf(req));
      } catch (err) {
        fail(ex, err);
      }
    });
  };

  // --- events: every fill leg, to every subscriber or to those of its account
  const events = mountFillEvents(app, options.eventsMaxBackpressure);

  // --- orders: faults per request (error, 429, timeout), rejections drawn per order
  post('/exchange/order', ORDER_LIMIT, (ex, body) => {
    const req = parseOrder(body);
    const rule = deps.rule('exchange/order');
    const { delayMs, fault } = decide(rule, random);
    if (fault.kind === 'error') return sendError(ex, delayMs, fault.status, fault.code, 'injected fault');
    if (fault.kind === 'rateLimit') return sendError(ex, delayMs, 429, 'RATE_LIMITED', 'injected rate limit');
    const result = place(req, fault.kind === 'reject' ? fault.code : undefined);
    if (result.status === 'rejected') {
      const status = result.code === 'IDEMPOTENCY_CONFLICT' ? 409 : 422;
      return sendError(ex, delayMs, status, result.code, result.message);
    }
    events.publish([result]);
    httpExchanges.sendLater(
      ex,
      fault.kind === 'timeout' ? fault.holdMs : delayMs,
      200,
      JSON.stringify(result),
    );
  });

  post('/exchange/orders', batchLimit, (ex, body) => {
    const orders = batchOrders(body);
    if (orders.length > options.maxBatch) {
      throw new HttpError(
        400,
        'BATCH_TOO_LARGE',
        `at most ${options.maxBatch} orders per batch, got ${orders.length}`,
      );
    }
    const rule = deps.rule('exchange/orders');
    const { delayMs, fault } = decide(rule, random);
    if (fault.kind === 'error') return sendError(ex, delayMs, fault.status, fault.code, 'injected fault');
    if (fault.kind === 'rateLimit') return sendError(ex, delayMs, 429, 'RATE_LIMITED', 'injected rate limit');
    const results: OrderOutcome[] = new Array(orders.length);
    for (let i = 0; i < orders.length; i++) {
      const order = orders[i];
      let result: OrderOutcome;
      try {
        const inject = rule.rejectRate > 0 && random() < rule.rejectRate ? rule.rejectCode : undefined;
        result = place(parseOrder(order), inject);
      } catch (err) {
        if (!(err instanceof InvalidRequest)) throw err;
        result = engine.reject(echoIds(order), err.code, err.message);
      }
      results[i] = result;
    }
    events.publish(results);
    const json = JSON.stringify({ results });
    httpExchanges.sendLater(ex, fault.kind === 'timeout' ? fault.holdMs : delayMs, 200, json);
  });

  // what became of orders placed before (after a crash or a timeout): read-only, no faults
  post('/exchange/orders/lookup', batchLimit, (ex, body) => {
    const refs = parseLookup(body, options.maxBatch);
    const results = refs.map((r) => engine.lookup(r.account, r.clientOrderId) ?? null);
    httpExchanges.json(ex, 200, { results });
  });

  // --- funding: USDT between accounts and escrows, once per key; faults per call, as the services
  post('/exchange/funding/transfer', ORDER_LIMIT, (ex, body) => {
    const req = parseTransfer(body);
    const { delayMs, fault } = decide(deps.rule('exchange/funding'), random);
    if (fault.kind === 'error') return sendError(ex, delayMs, fault.status, fault.code, 'injected fault');
    if (fault.kind === 'rateLimit') return sendError(ex, delayMs, 429, 'RATE_LIMITED', 'injected rate limit');
    let result: ReturnType<typeof engine.transfer>;
    try {
      result = engine.transfer(req);
    } catch (err) {
      if (err instanceof Rejected && err.code === 'IDEMPOTENCY_CONFLICT') {
        return sendError(ex, delayMs, 409, err.code, err.message);
      }
      throw err;
    }
    httpExchanges.sendLater(
      ex,
      fault.kind === 'timeout' ? fault.holdMs : delayMs,
      200,
      JSON.stringify(result),
    );
  });

  get('/exchange/funding/transfers', (ex, query) =>
    httpExchanges.json(ex, 200, engine.transfers(query.get('prefix') ?? '')),
  );

  // --- accounts, leverage, views
  post('/exchange/accounts', ORDER_LIMIT, (ex, body) => {
    const req = parseAccount(body);
    const view = engine.createAccount(req);
    history.deposited(req.account, req.deposits.get('USDT') ?? 0n, engine.walletUnits(req.account));
    httpExchanges.json(ex, 200, view);
  });

  // --- trade history (history.ts): fills and balance points; a past one imported
  get('/exchange/history', (ex, query) => {
    const account = accountId(query.get('account'));
    if (!engine.hasAccount(account)) throw new HttpError(404, 'UNKNOWN_ACCOUNT', `no account ${account}`);
    const since = query.get('sinceMs');
    if (since !== null && !/^\d{1,15}$/.test(since)) {
      throw new InvalidRequest('sinceMs: expected a time in ms since the epoch');
    }
    httpExchanges.json(ex, 200, history.view(account, since === null ? null : Number(since)));
  });

  post('/exchange/history', HISTORY_LIMIT, (ex, body) => {
    const req = parseHistoryImport(body, Date.now());
    if (!engine.hasAccount(req.account)) {
      throw new HttpError(404, 'UNKNOWN_ACCOUNT', `no account ${req.account}`);
    }
    history.replace(req, engine.walletUnits(req.account));
    httpExchanges.json(ex, 200, history.view(req.account, null));
  });

  post('/exchange/leverage', ORDER_LIMIT, (ex, body) => {
    httpExchanges.json(ex, 200, engine.setLeverage(parseLeverage(body, (i) => INSTRUMENTS[i].maxLeverage)));
  });

  // margin into an isolated position: its liquidation price moves away; subscribers are told
  post('/exchange/margin', ORDER_LIMIT, (ex, body) => {
    const event = engine.addMargin(parseAddMargin(body));
    events.publishMargin(event);
    httpExchanges.json(ex, 200, event);
  });

  get('/exchange/positions', (ex, query) => {
    const account = accountId(query.get('account'));
    if (!engine.hasAccount(account)) throw new HttpError(404, 'UNKNOWN_ACCOUNT', `no account ${account}`);
    httpExchanges.json(ex, 200, engine.positions(account));
  });

  get('/exchange/equity', (ex, query) => {
    const account = accountId(query.get('account'));
    if (!engine.hasAccount(account)) throw new HttpError(404, 'UNKNOWN_ACCOUNT', `no account ${account}`);
    httpExchanges.json(ex, 200, equityView(engine, account, Date.now()));
  });

  get('/exchange/ledger', (ex) => httpExchanges.json(ex, 200, engine.ledgerView()));

  get('/exchange/price', (ex, query) => {
    httpExchanges.json(ex, 200, engine.priceView(instrumentOf(query.get('instrument'))));
  });

  // --- test controls: how much of an order fills (partial fills); the price is /admin/price
  post('/admin/liquidity', ORDER_LIMIT, (ex, body) => {
    const req = parseQtyCap(body);
    httpExchanges.json(ex, 200, engine.setLiquidity(req.instrument, req.maxQty));
  });

  get('/admin/liquidity', (ex) => httpExchanges.json(ex, 200, { liquidity: engine.liquidity() }));
  post('/admin/max-qty', ORDER_LIMIT, (ex, body) => {
    const req = parseQtyCap(body);
    httpExchanges.json(ex, 200, engine.setMaxQty(req.instrument, req.maxQty));
  });
  get('/admin/max-qty', (ex) => httpExchanges.json(ex, 200, { maxQty: engine.maxQty() }));

  // the exchange liquidates a position (at the feed price): its fills carry liquidation: true
  post('/admin/liquidate', ORDER_LIMIT, (ex, body) => {
    const result = recorded(engine.liquidate(parseLiquidate(body)));
    events.publish([result]);
    httpExchanges.json(ex, 200, result);
  });

  // a price move armed for the next order on an instrument (of one account): between sizing and fill
  post('/admin/price-move', ORDER_LIMIT, (ex, body) => {
    const move = parsePriceMove(body);
    moves.arm(move);
    httpExchanges.json(ex, 200, moveView(move));
  });

  get('/admin/price-move', (ex) => httpExchanges.json(ex, 200, { armed: moves.armed.map(moveView) }));

  // each with the per-order maximum in force (a test's lower one too), as an exchange publishes its current rules
  get('/exchange/instruments', (ex) => {
    const max = new Map(engine.maxQty().map((c) => [c.instrument, c.maxQty]));
    const instruments = Object.values(INSTRUMENTS).map((spec) => ({
      ...spec,
      maxQty: max.get(spec.instrument) ?? spec.maxQty,
    }));
    httpExchanges.json(ex, 200, { instruments });
  });

  function sendError(ex: HttpExchange, delayMs: number, status: number, code: string, message: string): void {
    httpExchanges.sendLater(ex, delayMs, status, JSON.stringify({ code, message }));
  }

  return {
    engine,
    history,
    events,
    close: () => events.close(),
  };
}

function moveView(m: PriceMove): PriceMoveSetting {
  return { instrument: m.instrument, price: m.price.toFixed(), account: m.account ?? null, hold: m.hold };
}

function instrumentOf(value: string | null): InstrumentId {
  if (value === null || !Object.hasOwn(RULES, value)) {
    throw new InvalidRequest(`instrument: expected one of ${INSTRUMENT_IDS.join(', ')}`);
  }
  return value as InstrumentId;
}
