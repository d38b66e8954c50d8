import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { safeEqual } from '../../board/auth.js';
import { HttpError, type Listening } from '../../infra/http.js';
import type { Logger } from '../../infra/log.js';
import { type AttemptLimiter, retryAfterSeconds } from '../api/attempt-limiter.js';
import type { OperatorRoute } from './routes.js';

/** the least length of TF_OPERATOR_TOKEN: a short one could be guessed within the attempt limits */
export const MIN_OPERATOR_TOKEN = 16;
const DEFAULT_BODY_LIMIT = 64 * 1024;
/** an answer given before the body is read drains at most this much of it, then drops the connection */
const DRAIN_LIMIT = 1024 * 1024;
const ACTOR = /^[A-Za-z0-9_.@-]{1,64}$/;

export interface OperatorServerOptions {
  readonly host: string;
  readonly port: number;
  /** TF_OPERATOR_TOKEN; the server does not start without one */
  readonly token: string;
  readonly routes: readonly OperatorRoute[];
  /** failed token attempts per remote address; over the limit, 429 (a right token too) */
  readonly attempts: AttemptLimiter;
  readonly log: Logger;
  readonly bodyLimit?: number;
}

interface Compiled {
  readonly route: OperatorRoute;
  /** literal segments, or the name of a `:name` segment */
  readonly segments: readonly { readonly literal?: string; readonly param?: string }[];
}

const compile = (route: OperatorRoute): Compiled => ({
  route,
  segments: route.path
    .split('/')
    .slice(1)
    .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : { literal: s })),
});

/** The path's params when `c` matches it, else undefined; a malformed %-escape is a 400. */
function matchPath(c: Compiled, parts: readonly string[]): Record<string, string> | undefined {
  if (parts.length !== c.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, seg] of c.segments.entries()) {
    const part = parts[i] as string;
    if (seg.literal !== undefined) {
      if (seg.literal !== part) return undefined;
    } else if (part === '') return undefined;
    else {
      try {
        params[seg.param as string] = decodeURIComponent(part);
      } catch {
        throw new HttpError(400, 'INVALID_REQUEST', `${seg.param}: not a valid URL segment`);
      }
    }
  }
  return params;
}

/**
 * The operator API (`tradeflow operator`): the routes every area exports (routes.ts), JSON
 * in and out, each request with `Authorization: Bearer <TF_OPERATOR_TOKEN>`, compared in
 * constant time. No token configured, no server: it refuses to start rather than serve
 * credential rotation to anyone (there is no development default, unlike TF_SECRET_KEY:
 * a default token would be a public one). Answers, as the copiers' API's: `{code, message}`
 * with 401 (no or wrong token, before anything else is looked at), 429 + Retry-After (an
 * address over its failed attempts), 404 (no such path), 405 + Allow (the path, another
 * method), 400 (a body that is not JSON), 413 (a body over the limit); a handler's
 * HttpError with its status, anything else 500, logged with its cause.
 *
 * On node:http, as the ops endpoints (ops-server.ts): a handful of operator calls need none
 * of uWS's speed, and node:http answers HTTP/1.0 and malformed requests properly.
 */
export async function startOperatorServer(opts: OperatorServerOptions): Promise<Listening> {
  if (opts.token.length < MIN_OPERATOR_TOKEN) {
    throw new Error(
      `the operator API needs TF_OPERATOR_TOKEN (at least ${MIN_OPERATOR_TOKEN} characters); it does not start without one`,
    );
  }
  const compiled = opts.routes.map(compile);
  const seen = new Set<string>();
  for (const r of opts.routes) {
    const key = `${r.method} ${r.path.replace(/:[^/]+/g, ':')}`;
    if (seen.has(key)) throw new Error(`operator API: two routes for ${r.method} ${r.path}`);
    seen.add(key);
  }
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const { log, attempts } = opts;

  const authenticate = (req: IncomingMessage, from: string): void => {
    const wait = attempts.blockedFor(from);
    if (wait > 0) {
      throw new HttpError(429, 'TOO_MANY_ATTEMPTS', 'too many failed attempts from this address', {
        'retry-after': retryAfterSeconds(wait),
      });
    }
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && safeEqual(bearer, opts.token)) return;
    attempts.failed(from);
    throw new HttpError(
      401,
      'UNAUTHORIZED',
      'the operator token is required: Authorization: Bearer <token>',
      {
        'www-authenticate': 'Bearer realm="tradeflow operator"',
      },
    );
  };

  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const from = req.socket.remoteAddress ?? '';
    authenticate(req, from);
    const url = new URL(req.url ?? '/', 'http://operator');
    const parts = url.pathname.split('/').slice(1);
    const onPath = compiled.flatMap((c) => {
      const params = matchPath(c, parts);
      return params ? [{ c, params }] : [];
    });
    if (onPath.length === 0) throw new HttpError(404, 'NOT_FOUND', 'no such endpoint');
    const hit = onPath.find((m) => m.c.route.method === req.method);
    if (!hit) {
      const allow = [...new Set(onPath.map((m) => m.c.route.method))].join(', ');
      throw new HttpError(
        405,
        'METHOD_NOT_ALLOWED',
        `${req.method} is not allowed here (allowed: ${allow})`,
        {
          allow,
        },
      );
    }
    const actorHeader = req.headers['x-operator'];
    const actor = typeof actorHeader === 'string' && actorHeader !== '' ? actorHeader : 'operator';
    if (!ACTOR.test(actor)) {
      throw new HttpError(
        400,
        'INVALID_REQUEST',
        'x-operator: expected 1-64 characters of A-Z a-z 0-9 _ . @ -',
      );
    }
    const method = hit.c.route.method;
    const body = method === 'GET' || method === 'DELETE' ? undefined : await readBody(req, bodyLimit);
    const result = await hit.c.route.handle({ params: hit.params, query: url.searchParams, body, actor });
    const status = result.status ?? 200;
    send(res, status, result.body);
    log.info({ actor, method, path: hit.c.route.path, params: hit.params, status }, 'operator request');
    return status;
  };

  const server = createServer((req, res) => {
    answer(req, res).catch((err: unknown) => {
      if (!(err instanceof HttpError))
        log.error({ err, method: req.method, url: req.url }, 'operator request failed');
      const e = err instanceof HttpError ? err : new HttpError(500, 'INTERNAL', 'internal error');
      if (!req.complete) discard(req, res);
      send(res, e.status, { code: e.code, message: e.message }, e.headers);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body ?? null);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

/** An unread body after an early answer: drained (so the answer is read), up to a bound, then the connection closes. */
function discard(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close');
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT) req.destroy();
  });
  req.resume();
}

/** The JSON body (undefined when empty), at most `limit` bytes: 413 beyond, 400 when not JSON. */
function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = () => new HttpError(413, 'PAYLOAD_TOO_LARGE', `body exceeds ${limit} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        resolve(undefined);
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'INVALID_REQUEST', 'body is not valid JSON'));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}
