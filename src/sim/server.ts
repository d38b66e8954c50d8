import uWS from 'uWebSockets.js';
import { ASSETS, type Asset } from '../clients/wire.js';
import { type Config, ConfigError } from '../config.js';
import { fmt, isDecimalString, Money } from '../domain/money.js';
import {
  HttpError,
  type HttpExchange,
  HttpExchanges,
  type HttpResponse,
  listen,
  queryOf,
  readJson,
} from '../infra/http.js';
import type { Logger } from '../infra/log.js';
import { createDb, createPool } from '../infra/mysql/client.js';
import { FIXED_ACCOUNTS, simPolicy } from './accounts.js';
import { answerCall } from './calls.js';
import { listCounterOrders, parseOrdersQuery } from './counter-orders.js';
import { InvalidRequest, Rejected } from './errors.js';
import { type ExchangeSimOptions, exchangeOptions, mountExchange } from './exchange/routes.js';
import {
  type FaultEndpoint,
  type FaultSettings,
  parseFaultSettings,
  parseFaultSettingsJson,
  resolveRules,
} from './faults.js';
import { IdempotencyStore } from './idempotency.js';
import { Ledger } from './ledger.js';
import { OverlapWatch } from './overlaps.js';
import { startPriceFeed } from './price-feed.js';
import { parseSwap, parseTrade, parseTransfer } from './requests.js';
import { counterSwap, fundingTransfer, tradeMarket } from './services.js';
import { ledgerView } from './views.js';

export interface SimOptions {
  host: string;
  /** 0 = any free port */
  port: number;
  /** trade fee rate, a decimal string in [0, 1) */
  feeRate: string;
  faults: FaultSettings;
  mysqlUrl: string;
  counterDb: string;
  logger: Logger;
  /** the derivatives exchange (fee rate, slippage, batch size); EXCHANGE_DEFAULTS for what is left out */
  exchange?: Partial<ExchangeSimOptions>;
}

export interface RunningSim {
  readonly port: number;
  close(): Promise<void>;
}

const BODY_LIMIT = 64 * 1024;

/**
 * The simulated counter, funding and spot-trade services, plus admin, on one uWS server.
 * Each mutating call is decided by answerCall (calls.ts); this file is only the HTTP side.
 */
export async function startSim(opts: SimOptions): Promise<RunningSim> {
  const log = opts.logger;
  if (!isDecimalString(opts.feeRate) || new Money(opts.feeRate).lt(0) || new Money(opts.feeRate).gte(1)) {
    throw new Error(`feeRate: expected a decimal from 0 to below 1, got "${opts.feeRate}"`);
  }
  const feeRate = new Money(opts.feeRate);
  const exchangeOpts = exchangeOptions(opts.exchange);
  let faults = parseFaultSettings(opts.faults);
  let rules = resolveRules(faults);

  const ledger = new Ledger(simPolicy, FIXED_ACCOUNTS);
  const overlaps = new OverlapWatch();
  let replays = 0;
  const replies = new IdempotencyStore();
  const feed = startPriceFeed();
  const pool = createPool(opts.mysqlUrl, opts.counterDb, { connections: 4 });
  const db = createDb(pool);
  const httpExchanges = new HttpExchanges();
  const app = uWS.App();

  const fail = (ex: HttpExchange, err: unknown): void => {
    if (err instanceof HttpError) httpExchanges.error(ex, err.status, err.code, err.message);
    else if (err instanceof InvalidRequest) httpExchanges.error(ex, 400, err.code, err.message);
    else if (err instanceof Rejected) httpExchanges.error(ex, 422, err.code, err.message);
    else {
      log.error({ err }, 'simulator request failed');
      httpExchanges.error(ex, 500, 'INTERNAL', 'internal error');
    }
  };

  /** A POST whose JSON body is handled by `handle`; any throw becomes an error response. */
  const post = (path: string, handle: (ex: HttpExchange, body: unknown) => void | Promise<void>): void => {
    app.post(path, (res: HttpResponse) => {
      const ex = httpExchanges.accept(res);
      readJson(ex, BODY_LIMIT)
        .then((body) => handle(ex, body))
        .catch((err: unknown) => fail(ex, err));
    });
  };

  const get = (
    path: string,
    handle: (ex: HttpExchange, query: URLSearchParams) => void | Promise<void>,
  ): void => {
    app.get(path, (res, req) => {
      const ex = httpExchanges.accept(res);
      const query = queryOf(req);
      try {
        Promise.resolve(handle(ex, query)).catch((err: unknown) => fail(ex, err));
      } catch (err) {
        fail(ex, err);
      }
    });
  };

  const mutation = <R extends { key: string }>(
    endpoint: FaultEndpoint,
    parse: (body: unknown) => R,
    apply: (req: R) => unknown,
  ): void =>
    post(`/${endpoint}`, (ex, body) => {
      const ctx = { replies, rule: rules[endpoint], random: Math.random };
      const req = parse(body);
      const answer = answerCall(ctx, endpoint, req, apply);
      overlaps.arrive(req.key, Date.now(), answer.delayMs);
      if (answer.replay) replays++;
      httpExchanges.sendLater(ex, answer.delayMs, answer.status, answer.body);
    });

  mutation('counter/swap', parseSwap, (req) => counterSwap(ledger, req));
  mutation('funding/transfer', parseTransfer, (req) => fundingTransfer(ledger, req));
  mutation('trade/market', parseTrade, (req) => tradeMarket(ledger, req, feed.price(req.asset), feeRate));

  get('/price', (ex, query) => {
    const asset = query.get('asset');
    if (!(ASSETS as readonly (string | null)[]).includes(asset)) {
      throw new InvalidRequest(`asset: expected one of ${ASSETS.join(', ')}`);
    }
    httpExchanges.json(ex, 200, { asset, price: fmt(feed.price(asset as Asset)) });
  });

  get('/counter/orders', async (ex, query) => {
    const orders = await listCounterOrders(db, parseOrdersQuery(query));
    const { latencyMs, jitterMs } = rules['counter/orders'];
    const delayMs = latencyMs + Math.floor(Math.random() * jitterMs);
    httpExchanges.sendLater(ex, delayMs, 200, JSON.stringify({ orders }));
  });

  get('/ledger', (ex, query) =>
    httpExchanges.json(
      ex,
      200,
      ledgerView(ledger, query.get('prefix') ?? '', { overlaps: overlaps.overlaps, replays }),
    ),
  );

  get('/admin/faults', (ex) => httpExchanges.json(ex, 200, faults));

  post('/admin/faults', (ex, body) => {
    faults = parseFaultSettings(body);
    rules = resolveRules(faults);
    log.info({ faults }, 'simulator fault settings changed');
    httpExchanges.json(ex, 200, faults);
  });

  // a market move on demand, for tests: {"asset":"BTC","price":"63000"}; "hold":true stops the walk there
  post('/admin/price', (ex, body) => {
    const { asset, price, hold } = (body ?? {}) as { asset?: unknown; price?: unknown; hold?: unknown };
    if (hold !== undefined && typeof hold !== 'boolean')
      throw new InvalidRequest('hold: expected true or false');
    if (!(ASSETS as readonly unknown[]).includes(asset)) {
      throw new InvalidRequest(`asset: expected one of ${ASSETS.join(', ')}`);
    }
    if (typeof price !== 'string' || !/^\d{1,12}(\.\d{1,2})?$/.test(price) || Number(price) <= 0) {
      throw new InvalidRequest('price: expected a positive decimal string of at most 2 places');
    }
    feed.set(asset as Asset, new Money(price), hold === true);
    log.info({ asset, price, hold }, 'simulator price set');
    httpExchanges.json(ex, 200, { asset, price, hold: hold === true });
  });

  get('/healthz', (ex) => httpExchanges.json(ex, 200, { ok: true }));

  // the derivatives exchange and its fill events (src/sim/exchange/)
  const exchange = mountExchange(app, {
    httpExchanges,
    fail,
    rule: (endpoint) => rules[endpoint],
    price: (asset) => feed.price(asset),
    movePrice: (asset, price, hold) => feed.set(asset, price, hold),
    options: exchangeOpts,
  });

  app.any('/*', (res) => {
    httpExchanges.error(httpExchanges.accept(res), 404, 'NOT_FOUND', 'no such endpoint');
  });

  let listening: Awaited<ReturnType<typeof listen>>;
  try {
    listening = await listen(app, opts.host, opts.port);
  } catch (err) {
    feed.stop();
    await pool.end();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    port: listening.port,
    close() {
      closing ??= (async () => {
        feed.stop();
        exchange.close();
        httpExchanges.closeAll();
        listening.close();
        await pool.end();
      })();
      return closing;
    },
  };
}

/** `tradeflow sim`: runs the simulator until SIGTERM or SIGINT, then closes it. */
export async function runSim(config: Config, logger: Logger): Promise<void> {
  let faults: FaultSettings;
  try {
    faults = parseFaultSettingsJson(config.simFaults);
  } catch (err) {
    throw new ConfigError('TF_SIM_FAULTS', (err as Error).message);
  }
  const sim = await startSim({
    host: config.simHost,
    port: config.simPort,
    feeRate: config.simFeeRate,
    faults,
    mysqlUrl: config.counterMysqlUrl,
    counterDb: config.counterDb,
    logger,
  });
  logger.info(
    { host: config.simHost, port: sim.port, feeRate: config.simFeeRate, faults },
    'simulator listening',
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (sig: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(sig);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  logger.info({ signal }, 'simulator stopping');
  await sim.close();
  logger.info('simulator stopped');
}
