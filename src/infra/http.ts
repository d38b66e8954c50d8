import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import uWS from 'uWebSockets.js';

/**
 * Small helpers for JSON over uWebSockets.js. uWS is fast because it is raw: a response is
 * invalid once the client aborts, a body arrives in neutered chunks, and writes outside the
 * route handler's own tick must be corked. These helpers keep those rules in one place.
 */

export type { HttpRequest, HttpResponse, TemplatedApp };

/** An error that becomes an HTTP error response `{code, message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** extra response headers, e.g. Retry-After of a 429 */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
const statusLines = new Map<number, string>();

export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${REASONS[status] ?? 'Status'}`;
    statusLines.set(status, line);
  }
  return line;
}

/** One request in flight. `open` turns false once answered or aborted; uWS forbids touching `res` after. */
export interface HttpExchange {
  readonly res: HttpResponse;
  open: boolean;
  timer: NodeJS.Timeout | undefined;
  /** a HEAD: answered with the headers a GET would get and no body (a client reads none) */
  readonly head: boolean;
}

/** The HTTP exchanges (request and response) in flight of one server, so that closing it can answer (or drop) them all at once. */
export class HttpExchanges {
  readonly #open = new Set<HttpExchange>();

  /**
   * Must be called synchronously in the route handler, before anything asynchronous. `req`
   * tells a HEAD (uWS routes it to `head` and `any` handlers); without it, none is assumed.
   */
  accept(res: HttpResponse, req?: HttpRequest): HttpExchange {
    const ex: HttpExchange = { res, open: true, timer: undefined, head: req?.getMethod() === 'head' };
    res.onAborted(() => this.#settle(ex));
    this.#open.add(ex);
    return ex;
  }

  /** Sends an already serialized JSON body, unless the client went away meanwhile. */
  send(
    ex: HttpExchange,
    status: number,
    json: string,
    closeConnection = false,
    headers: Readonly<Record<string, string>> = {},
    contentType = 'application/json',
  ): void {
    if (!ex.open) return;
    this.#settle(ex);
    ex.res.cork(() => {
      ex.res.writeStatus(statusLine(status)).writeHeader('content-type', contentType);
      for (const [name, value] of Object.entries(headers)) ex.res.writeHeader(name, value);
      if (ex.head) ex.res.endWithoutBody(Buffer.byteLength(json), closeConnection);
      else ex.res.end(json, closeConnection);
    });
  }

  /** A server-rendered page (the leaderboard's). */
  html(ex: HttpExchange, status: number, page: string): void {
    this.send(ex, status, page, false, {}, 'text/html; charset=utf-8');
  }

  json(ex: HttpExchange, status: number, body: unknown): void {
    this.send(ex, status, JSON.stringify(body));
  }

  /** Sends after `delayMs`; the timer dies with the exchange (abort or server close). */
  sendLater(ex: HttpExchange, delayMs: number, status: number, json: string): void {
    if (delayMs <= 0) {
      this.send(ex, status, json);
      return;
    }
    if (!ex.open) return;
    ex.timer = setTimeout(() => {
      ex.timer = undefined;
      this.send(ex, status, json);
    }, delayMs);
  }

  error(
    ex: HttpExchange,
    status: number,
    code: string,
    message: string,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    this.send(ex, status, JSON.stringify({ code, message }), false, headers);
  }

  /** Ends every exchange still in flight with 503 on a closing connection, and cancels held replies. */
  closeAll(): void {
    const body = JSON.stringify({ code: 'UNAVAILABLE', message: 'server is shutting down' });
    for (const ex of [...this.#open]) this.send(ex, 503, body, true);
  }

  #settle(ex: HttpExchange): void {
    ex.open = false;
    if (ex.timer !== undefined) clearTimeout(ex.timer);
    ex.timer = undefined;
    this.#open.delete(ex);
  }
}

/**
 * Reads the whole body as JSON, at most `limit` bytes. Must be called synchronously in the
 * route handler (uWS drops data that arrives before onData is set). Rejects with an HttpError:
 * 413 PAYLOAD_TOO_LARGE or 400 INVALID_REQUEST.
 *
 * The rejection counts as handled from the start: a route answers some requests (401, 429)
 * without ever awaiting their body, and a body read that nobody awaits must not fail the
 * process. A caller that awaits it still gets the rejection.
 */
export function readJson(ex: HttpExchange, limit: number): Promise<unknown> {
  const body = readJsonBody(ex, limit);
  body.catch(() => undefined);
  return body;
}

function readJsonBody(ex: HttpExchange, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    ex.res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `body exceeds ${limit} bytes`));
        return;
      }
      // The chunk is neutered when this callback returns: decode or copy it now.
      if (!isLast) {
        chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
        return;
      }
      done = true;
      const text =
        chunks.length === 0
          ? Buffer.from(chunk).toString('utf8')
          : Buffer.concat([...chunks, Buffer.from(chunk)]).toString('utf8');
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'INVALID_REQUEST', 'body is not valid JSON'));
      }
    });
  });
}

/**
 * Writes a whole JSON error response on `res` outside any HttpExchange: a WebSocket upgrade
 * refused. The caller corks it when it answers after the handler returned.
 */
export function writeError(
  res: HttpResponse,
  status: number,
  code: string,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json');
  for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
  res.end(JSON.stringify({ code, message }));
}

/** The TCP peer's address (a proxy's, behind one); readable only in the handler's synchronous part. */
export function remoteAddress(res: HttpResponse): string {
  return Buffer.from(res.getRemoteAddressAsText()).toString('utf8');
}

/** The query string of a request; `req` is only valid during the handler's synchronous part. */
export function queryOf(req: HttpRequest): URLSearchParams {
  return new URLSearchParams(req.getQuery() ?? '');
}

export interface Listening {
  readonly port: number;
  /** Stops accepting connections and closes those open (keep-alive ones included). */
  close(): void;
}

/** Listens on host:port (0 = any free port) and reports the port actually bound. */
export function listen(app: TemplatedApp, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket: us_listen_socket | false) => {
      if (!socket) {
        reject(new Error(`cannot listen on ${host}:${port}`));
        return;
      }
      resolve({
        port: uWS.us_socket_local_port(socket as unknown as uWS.us_socket),
        close() {
          uWS.us_listen_socket_close(socket);
          // App.close() exists in the native module from v20.30 but is missing from its typings;
          // without it, idle keep-alive connections would outlive the server.
          (app as unknown as { close?: () => void }).close?.();
        },
      });
    });
  });
}
