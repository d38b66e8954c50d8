import uWS from 'uWebSockets.js';
import {
  HttpError,
  type HttpExchange,
  HttpExchanges,
  type HttpRequest,
  type HttpResponse,
  listen,
  queryOf,
  readJson,
  remoteAddress,
  writeError,
} from '../../infra/http.js';
import type { Logger } from '../../infra/log.js';
import type { CopierNotices } from '../notices/copier-notices.js';
import { type AttemptLimiter, retryAfterSeconds } from './attempt-limiter.js';
import type { FollowStore } from './follow-store.js';
import { checkQuery, intParam, oneOfParam } from './query.js';

const BODY_LIMIT = 16 * 1024;
const MAX_LIST = 500;

export interface CopierApi {
  readonly port: number;
  /** Pushes `message` to the copier's open /stream sockets (if any: nothing is built otherwise). */
  publish(copierId: string, message: () => unknown): void;
  close(): void;
}

const topicOf = (copierId: string): string => `copier:${copierId}`;

/** A route another area adds to the copiers' API (lead applications): authenticated and query-checked as the others. */
export interface CopierRoute {
  method: 'get' | 'post' | 'put' | 'del';
  path: string;
  /** the query parameters it reads */
  query: readonly string[];
  handle(copierId: string, req: { query: URLSearchParams; body: unknown }): Promise<unknown>;
}

/** mysql2's error when a pool's queue is at its queueLimit */
const POOL_FULL = 'Queue limit reached.';

/**
 * The copiers' HTTP API (uWebSockets.js), each request authenticated by the copier's token
 * (`Authorization: Bearer <token>`):
 *   PUT    /follows/:trader          follow a trader, or replace the settings (body: follow settings)
 *   POST   /follows/:trader/pause    no new opens (closes still follow)
 *   POST   /follows/:trader/resume
 *   DELETE /follows/:trader?slices=keep|close
 *                                     stop following; keep (default) leaves the slices the copier's,
 *                                     close queues a close-out of them (its orders show in /orders)
 *   GET    /follows | /slices | /orders?limit=N (1..500, default 100)   the copier's own
 *   GET    /notices?limit=N&before=C  its notices: copies, skips, pauses, decisions, ... (notices/)
 *   WS     /stream                    its copy orders and skips, pushed once recorded, and its other notices
 *   GET    /profit-share/statements   its profit-share statements (profit-share/copier-routes.ts)
 *   and the `routes` other areas add (lead applications, profit-share statements)
 * Every change is announced (`changed`) so the fan-out's book reloads that copier.
 * Tokens are checked against `copierOf` (the credential cache: no MySQL query for a wrong
 * one); an address with too many failed attempts gets 429 with Retry-After (`attempts`).
 * Unknown, repeated or malformed query parameters get 400 naming the parameter.
 */
export async function startCopierApi(opts: {
  host: string;
  port: number;
  store: FollowStore;
  copierOf: (token: string) => string | undefined | Promise<string | undefined>;
  attempts: AttemptLimiter;
  changed: (copierId: string) => Promise<unknown>;
  /** queues the close of the copier's slices of a trader; returns the request's id */
  closeOut: (copierId: string, traderId: string) => Promise<string>;
  /** the notices' routes, and a notice for each pause, resume and stop */
  notices?: CopierNotices;
  /** a follow was stopped (profit share settles the pair: a queued job, no funding call here) */
  stopped?: (copierId: string, traderId: string) => Promise<unknown>;
  /** more routes, without the token (the leaderboard: leaderboard-routes.ts) */
  mount?: (app: uWS.TemplatedApp, httpExchanges: HttpExchanges) => void;
  /** more routes (a POST or PUT gets its JSON body) */
  routes?: readonly CopierRoute[];
  log: Logger;
}): Promise<CopierApi> {
  const { store, log } = opts;
  const httpExchanges = new HttpExchanges();
  const app = uWS.App();

  const fail = (ex: HttpExchange, err: unknown) => {
    if (err instanceof HttpError) httpExchanges.error(ex, err.status, err.code, err.message, err.headers);
    else if (err instanceof Error && err.message === POOL_FULL) {
      // the API's own MySQL pool has its bounded queue full: busy, not broken
      httpExchanges.error(ex, 503, 'BUSY', 'too many requests in flight; try again', { 'retry-after': '1' });
    } else {
      log.error({ err }, 'copier API request failed');
      httpExchanges.error(ex, 500, 'INTERNAL', 'internal error');
    }
  };

  /** The copier of `token`, or an HttpError: 429 for an address over its failed attempts, else 401. */
  const authenticate = async (from: string, token: string | undefined): Promise<string> => {
    const wait = opts.attempts.blockedFor(from);
    if (wait > 0) {
      throw new HttpError(429, 'TOO_MANY_ATTEMPTS', 'too many failed attempts from this address', {
        'retry-after': retryAfterSeconds(wait),
      });
    }
    const copierId = token ? await opts.copierOf(token) : undefined;
    if (copierId) return copierId;
    opts.attempts.failed(from);
    throw new HttpError(401, 'UNAUTHORIZED', 'a copier token is required: Authorization: Bearer <token>');
  };

  /**
   * A route: reads what it needs of `req` synchronously, then authenticates, checks the
   * query against `allowed`, and answers from `handle`. A PUT's body is read from the start
   * (uWS drops what arrives before) but awaited only once the token is good.
   */
  const route = (
    method: 'get' | 'put' | 'post' | 'del',
    path: string,
    allowed: readonly string[],
    handle: (
      copierId: string,
      ex: HttpExchange,
      params: { trader: string; query: URLSearchParams },
      body: unknown,
    ) => Promise<unknown>,
    withBody = method === 'put',
  ) => {
    const handler = (res: HttpResponse, req: HttpRequest) => {
      const ex = httpExchanges.accept(res, req);
      const from = remoteAddress(res);
      const token = /^Bearer (.+)$/.exec(req.getHeader('authorization'))?.[1];
      const params = {
        trader: path.includes(':trader') ? (req.getParameter(0) ?? '') : '',
        query: queryOf(req),
      };
      const body = withBody ? readJson(ex, BODY_LIMIT) : Promise.resolve(undefined);
      (async () => {
        const copierId = await authenticate(from, token);
        checkQuery(params.query, allowed);
        httpExchanges.json(ex, 200, await handle(copierId, ex, params, await body));
      })().catch((err: unknown) => fail(ex, err));
    };
    app[method](path, handler);
    // a HEAD gets what the GET would, without the body
    if (method === 'get') app.head(path, handler);
  };

  const changedThen = async <T>(copierId: string, result: T): Promise<T> => {
    await opts.changed(copierId);
    return result;
  };

  route('put', '/follows/:trader', [], async (copierId, _ex, { trader }, body) =>
    changedThen(copierId, { follow: await store.follow(copierId, trader, body) }),
  );
  route('post', '/follows/:trader/pause', [], async (copierId, _ex, { trader }) => {
    await store.setStatus(copierId, trader, 'paused');
    await opts.notices?.followChanged(copierId, 'pause', { traderId: trader });
    return changedThen(copierId, { traderId: trader, status: 'paused' });
  });
  route('post', '/follows/:trader/resume', [], async (copierId, _ex, { trader }) => {
    await store.setStatus(copierId, trader, 'active');
    await opts.notices?.followChanged(copierId, 'resume', { traderId: trader });
    return changedThen(copierId, { traderId: trader, status: 'active' });
  });
  route('del', '/follows/:trader', ['slices'], async (copierId, _ex, { trader, query }) => {
    const slices = oneOfParam(query, 'slices', ['keep', 'close'] as const);
    await store.stop(copierId, trader);
    // the book holds the stop before the close-out is queued: no signal after it copies again
    await opts.changed(copierId);
    await opts.stopped?.(copierId, trader);
    if (slices === 'keep') {
      await opts.notices?.followChanged(copierId, 'stop', { traderId: trader, slices: 'kept' });
      return { traderId: trader, status: 'stopped', slices: 'kept' };
    }
    const requestId = await opts.closeOut(copierId, trader);
    await opts.notices?.followChanged(copierId, 'stop', { traderId: trader, slices: 'closing', requestId });
    return { traderId: trader, status: 'stopped', slices: 'closing', requestId };
  });
  route('get', '/follows', [], async (copierId) => ({ follows: await store.follows(copierId) }));
  route('get', '/slices', [], async (copierId) => ({ slices: await store.slices(copierId) }));
  route('get', '/orders', ['limit'], async (copierId, _ex, { query }) => {
    const limit = intParam(query, 'limit', { min: 1, max: MAX_LIST, fallback: 100 });
    return { orders: await store.orders(copierId, limit) };
  });
  for (const r of [...(opts.notices?.routes ?? []), ...(opts.routes ?? [])]) {
    route(
      r.method,
      r.path,
      r.query,
      (copierId, _ex, { query }, body) => r.handle(copierId, { query, body }),
      r.method === 'post' || r.method === 'put',
    );
  }
  app.ws<{ copierId: string }>('/stream', {
    maxPayloadLength: 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    // a copier that does not read is dropped rather than buffered without bound
    maxBackpressure: 1024 * 1024,
    closeOnBackpressureLimit: 1,
    upgrade: (res, req, context) => {
      // req is only valid until this function returns: read everything now
      const from = remoteAddress(res);
      const token =
        /^Bearer (.+)$/.exec(req.getHeader('authorization'))?.[1] ?? queryOf(req).get('token') ?? '';
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      authenticate(from, token || undefined).then(
        (copierId) => {
          if (!aborted) res.cork(() => res.upgrade({ copierId }, key, protocol, extensions, context));
        },
        (err: unknown) => {
          if (aborted) return;
          if (!(err instanceof HttpError)) log.error({ err }, 'copier stream: token lookup failed');
          const e = err instanceof HttpError ? err : new HttpError(503, 'UNAVAILABLE', 'try again');
          res.cork(() => writeError(res, e.status, e.code, e.message, e.headers));
        },
      );
    },
    open: (ws) => {
      const { copierId } = ws.getUserData();
      ws.subscribe(topicOf(copierId));
      ws.send(JSON.stringify({ type: 'subscribed', copierId }));
    },
  });
  opts.mount?.(app, httpExchanges);
  app.any('/*', (res, req) =>
    httpExchanges.error(httpExchanges.accept(res, req), 404, 'NOT_FOUND', 'no such endpoint'),
  );

  const listening = await listen(app, opts.host, opts.port);
  return {
    port: listening.port,
    publish(copierId, message) {
      const topic = topicOf(copierId);
      if (app.numSubscribers(topic) > 0) app.publish(topic, JSON.stringify(message()));
    },
    close() {
      httpExchanges.closeAll();
      listening.close();
    },
  };
}
