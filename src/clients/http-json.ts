import { Pool } from 'undici';

/** A failed downstream call. The code says what happened; whether to retry is decided elsewhere. */
export class DownstreamError extends Error {
  override readonly name = 'DownstreamError';
  constructor(
    /** the service's error code, or TIMEOUT, UNAVAILABLE, BAD_RESPONSE, HTTP_{status} */
    readonly code: string,
    /** the HTTP status, if a response came at all */
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Returns the typed body, or undefined if the body is not what the endpoint promises. */
export type Check<T> = (body: unknown) => T | undefined;

export interface HttpJsonOptions {
  /** one call: to the response headers, then between body chunks (time queued for a connection not included) */
  timeoutMs: number;
  /** keep-alive connections per origin */
  connections: number;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Transport failures where the service could not be reached or dropped the connection. */
const UNREACHABLE = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

interface Target {
  pool: Pool;
  /** path part of the base URL, prepended to every path */
  prefix: string;
}

/** JSON calls over keep-alive undici pools, one pool per origin however many services share it. */
export class HttpJson {
  readonly #opts: HttpJsonOptions;
  readonly #pools = new Map<string, Pool>();
  readonly #targets = new Map<string, Target>();

  constructor(opts: HttpJsonOptions) {
    this.#opts = opts;
  }

  async call<T>(
    baseUrl: string,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    check: Check<T>,
  ): Promise<T> {
    const target = this.#target(baseUrl);
    const what = `${method} ${path}`;
    let status: number;
    let text: string;
    try {
      // undici's own timers (one wheel for all calls) cost far less than an AbortController per call
      const res = await target.pool.request({
        method,
        path: target.prefix + path,
        headers: body === undefined ? undefined : JSON_HEADERS,
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.#opts.timeoutMs,
        bodyTimeout: this.#opts.timeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw transportError(err, what, this.#opts.timeoutMs);
    }
    if (status < 200 || status >= 300) throw errorResponse(status, text, what);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new DownstreamError('BAD_RESPONSE', status, `${what}: body is not JSON: ${text.slice(0, 200)}`);
    }
    const value = check(parsed);
    if (value === undefined) {
      throw new DownstreamError('BAD_RESPONSE', status, `${what}: unexpected body: ${text.slice(0, 200)}`);
    }
    return value;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }

  #target(baseUrl: string): Target {
    let target = this.#targets.get(baseUrl);
    if (target !== undefined) return target;
    const url = new URL(baseUrl);
    let pool = this.#pools.get(url.origin);
    if (pool === undefined) {
      pool = new Pool(url.origin, { connections: this.#opts.connections });
      this.#pools.set(url.origin, pool);
    }
    target = { pool, prefix: url.pathname.replace(/\/+$/, '') };
    this.#targets.set(baseUrl, target);
    return target;
  }
}

function transportError(err: unknown, what: string, timeoutMs: number): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return err;
  const message = `${what}: ${(err as Error).message}`;
  if (TIMED_OUT.has(code))
    return new DownstreamError('TIMEOUT', undefined, `${what}: no response within ${timeoutMs} ms`);
  // E*: errno of the socket (ECONNREFUSED, ECONNRESET, EPIPE, ENOTFOUND, ...)
  if (UNREACHABLE.has(code) || /^E[A-Z]+$/.test(code)) {
    return new DownstreamError('UNAVAILABLE', undefined, message);
  }
  // anything else is a bad call of ours (invalid argument): not a downstream failure
  return err;
}

function errorResponse(status: number, text: string, what: string): DownstreamError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isObject(body) && typeof body.code === 'string' && body.code !== '') {
    const message = typeof body.message === 'string' ? body.message : body.code;
    return new DownstreamError(body.code, status, `${what}: ${message}`);
  }
  return new DownstreamError(`HTTP_${status}`, status, `${what}: HTTP ${status}: ${text.slice(0, 200)}`);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
