import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocket } from 'uWebSockets.js';
import uWS from 'uWebSockets.js';
import { listen, remoteAddress, writeError } from '../../infra/http.js';
import type { Logger } from '../../infra/log.js';
import { type AttemptLimiter, retryAfterSeconds } from '../api/attempt-limiter.js';
import { type AcceptSignal, STALE_REASON } from './accept.js';
import { type IngressErrorCode, ingressError } from './errors.js';
import type { LeaderTable } from './fill-filter.js';
import { ackFrame, checkLead, errorFrame, type FrameLimits, readFrame } from './frame.js';

/**
 * The signal ingress: lead traders' WebSocket at `/traders` on uWebSockets.js.
 *
 * 1. Upgrade: the API key (header `x-api-key`, or query `?apiKey=`) is looked up through the
 *    injected `credentials`; unknown → 401, no socket. The connection is then bound to that
 *    trader and its secret. An address over its failed attempts (`attempts`) gets 429 with
 *    Retry-After before any lookup: the answer to the upgrade, as a 401 is, so no socket.
 * 2. Each frame is checked by readFrame (frame.ts: size, JSON, envelope, HMAC, skew, schema,
 *    trader), then against the trader's lead settings in `leads` (checkLead: its signals come
 *    from frames, it leads the instrument); a bad one is answered with an error frame and
 *    the connection stays open.
 * 3. A good one goes to `accept` (dedup + XADD, accept.ts) and is answered with an ack
 *    carrying the server receive time, or an error frame UNAVAILABLE if Redis failed.
 *
 * A frame above `closeAboveBytes` never reaches tradeflow: uWS drops the connection (no close
 * frame; a client sees 1006).
 * Between `frameMaxBytes` and that, the frame gets FRAME_TOO_LARGE and the connection lives.
 */

/** What an API key stands for. The secret signs frames; storage of both stays outside. */
export interface Credentials {
  readonly traderId: string;
  readonly secret: string;
}

export type CredentialLookup = (apiKey: string) => Credentials | undefined | Promise<Credentials | undefined>;

export interface SignalIngressOptions {
  readonly host: string;
  /** 0 = any free port */
  readonly port: number;
  readonly credentials: CredentialLookup;
  /** the lead table in force: what each trader leads and where its signals come from */
  readonly leads: () => LeaderTable;
  /** told when a connected trader is not in `leads` (a lead just created): reload it */
  readonly onUnknownLead?: (traderId: string) => void;
  /** failed API keys per remote address; left out: no limit */
  readonly attempts?: AttemptLimiter;
  readonly accept: AcceptSignal;
  /** a frame larger than this gets FRAME_TOO_LARGE, unparsed (default 4096) */
  readonly frameMaxBytes?: number;
  /** allowed distance of a frame's ts from the server clock (default 10 000 ms) */
  readonly maxSkewMs?: number;
  /** a frame larger than this closes the connection (uWS maxPayloadLength; default max(64 KiB, 4 × frameMaxBytes)) */
  readonly closeAboveBytes?: number;
  /** signals of one connection awaiting their ack; one more gets BUSY (default 256) */
  readonly maxInFlight?: number;
  /** unsent bytes to one client beyond which it is disconnected as not reading (default 1 MiB) */
  readonly maxBackpressureBytes?: number;
  /** seconds without a frame (pings included, sent automatically) before a connection is closed (default 120) */
  readonly idleTimeoutSec?: number;
  readonly logger?: Logger;
}

export interface IngressStats {
  connections: number;
  accepted: number;
  duplicates: number;
  refused: Partial<Record<IngressErrorCode, number>>;
  unauthorized: number;
}

export interface SignalIngress {
  readonly port: number;
  stats(): IngressStats;
  /** Refuses new connections and frames, waits for the acks in flight, then closes every connection. */
  close(): Promise<void>;
}

interface Conn {
  readonly traderId: string;
  readonly secret: string;
  open: boolean;
  inFlight: number;
}

export const TRADERS_PATH = '/traders';

export async function startSignalIngress(opts: SignalIngressOptions): Promise<SignalIngress> {
  const log = opts.logger;
  const frameMaxBytes = opts.frameMaxBytes ?? 4096;
  const limits: FrameLimits = { maxBytes: frameMaxBytes, maxSkewMs: opts.maxSkewMs ?? 10_000 };
  const closeAboveBytes = opts.closeAboveBytes ?? Math.max(64 * 1024, 4 * frameMaxBytes);
  if (closeAboveBytes < frameMaxBytes) throw new Error('closeAboveBytes must be at least frameMaxBytes');
  const maxInFlight = opts.maxInFlight ?? 256;

  const stats: IngressStats = { connections: 0, accepted: 0, duplicates: 0, refused: {}, unauthorized: 0 };
  const sockets = new Set<WebSocket<Conn>>();
  const pending = new Set<Promise<void>>();
  let closing = false;

  const send = (ws: WebSocket<Conn>, text: string): void => {
    if (!ws.getUserData().open) return;
    ws.cork(() => {
      ws.send(text, false);
    });
  };

  const refuse = (ws: WebSocket<Conn>, code: IngressErrorCode, message: string, signalId?: string): void => {
    stats.refused[code] = (stats.refused[code] ?? 0) + 1;
    send(ws, errorFrame(ingressError(code, message), signalId));
  };

  const upgrade = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    // req is only valid until this function returns: read everything now
    const from = remoteAddress(res);
    const apiKey = req.getHeader('x-api-key') || (req.getQuery('apiKey') ?? '');
    const wsKey = req.getHeader('sec-websocket-key');
    const wsProtocol = req.getHeader('sec-websocket-protocol');
    const wsExtensions = req.getHeader('sec-websocket-extensions');
    let aborted = false;

    const finish = (found: Credentials | undefined): void => {
      if (aborted) return;
      if (closing) {
        reject(res, 503, 'UNAVAILABLE', 'server is shutting down');
      } else if (found === undefined) {
        stats.unauthorized++;
        opts.attempts?.failed(from);
        reject(res, 401, 'UNAUTHORIZED', 'unknown or missing API key');
      } else {
        const conn: Conn = { traderId: found.traderId, secret: found.secret, open: true, inFlight: 0 };
        res.upgrade(conn, wsKey, wsProtocol, wsExtensions, context);
      }
    };
    const failed = (err: unknown): void => {
      log?.error({ err }, 'signal ingress: credentials lookup failed');
      if (!aborted) reject(res, 503, 'UNAVAILABLE', 'credentials lookup failed');
    };

    const wait = opts.attempts?.blockedFor(from) ?? 0;
    if (wait > 0) {
      stats.unauthorized++;
      reject(res, 429, 'TOO_MANY_ATTEMPTS', 'too many failed attempts from this address', {
        'retry-after': retryAfterSeconds(wait),
      });
      return;
    }
    let found: ReturnType<CredentialLookup>;
    try {
      found = apiKey === '' ? undefined : opts.credentials(apiKey);
    } catch (err) {
      failed(err);
      return;
    }
    if (!(found instanceof Promise)) {
      finish(found);
      return;
    }
    // an asynchronous lookup: the client may go away meanwhile, and the answer must be corked
    res.onAborted(() => {
      aborted = true;
    });
    found.then(
      (c) => res.cork(() => finish(c)),
      (err: unknown) => res.cork(() => failed(err)),
    );
  };

  const message = (ws: WebSocket<Conn>, data: ArrayBuffer): void => {
    const receivedMs = Date.now();
    const conn = ws.getUserData();
    // the ArrayBuffer is neutered when this returns: readFrame consumes it synchronously
    const verdict = readFrame(new Uint8Array(data), conn, receivedMs, limits);
    if (!verdict.ok) {
      stats.refused[verdict.error.code] = (stats.refused[verdict.error.code] ?? 0) + 1;
      send(ws, errorFrame(verdict.error, verdict.signalId));
      return;
    }
    const { signal } = verdict;
    const lead = opts.leads().lead(signal.traderId);
    if (lead === undefined) {
      // credentials and lead settings are one row, reloaded apart: the table is behind
      opts.onUnknownLead?.(signal.traderId);
      refuse(ws, 'UNAVAILABLE', 'the lead settings are not loaded yet; send it again', signal.signalId);
      return;
    }
    const wrong = checkLead(signal, lead);
    if (wrong !== undefined) {
      stats.refused[wrong.code] = (stats.refused[wrong.code] ?? 0) + 1;
      send(ws, errorFrame(wrong, signal.signalId));
      return;
    }
    if (closing) {
      refuse(ws, 'UNAVAILABLE', 'server is shutting down', signal.signalId);
      return;
    }
    if (conn.inFlight >= maxInFlight) {
      refuse(ws, 'BUSY', `more than ${maxInFlight} signals await their ack`, signal.signalId);
      return;
    }
    conn.inFlight++;
    const done: Promise<void> = opts
      .accept(signal, receivedMs, 'ws')
      .then(
        (r) => {
          if (r.stale) {
            refuse(ws, 'STALE_SIGNAL', STALE_REASON, signal.signalId);
            return;
          }
          if (r.duplicate) stats.duplicates++;
          else stats.accepted++;
          send(ws, ackFrame(signal.signalId, receivedMs, r.duplicate));
        },
        (err: unknown) => {
          log?.error({ err, signalId: signal.signalId }, 'signal ingress: could not store a signal');
          refuse(ws, 'UNAVAILABLE', 'the signal could not be stored; send it again', signal.signalId);
        },
      )
      .finally(() => {
        conn.inFlight--;
        pending.delete(done);
      });
    pending.add(done);
  };

  const app = uWS.App().ws<Conn>(TRADERS_PATH, {
    maxPayloadLength: closeAboveBytes,
    maxBackpressure: opts.maxBackpressureBytes ?? 1024 * 1024,
    // a boolean in uWS (typed as a number in these typings): a client that does not read its
    // acks is disconnected instead of buffering without bound
    closeOnBackpressureLimit: 1,
    idleTimeout: opts.idleTimeoutSec ?? 120,
    sendPingsAutomatically: true,
    compression: uWS.DISABLED,
    upgrade,
    open: (ws) => {
      sockets.add(ws);
      stats.connections++;
    },
    message,
    close: (ws) => {
      ws.getUserData().open = false;
      sockets.delete(ws);
      stats.connections--;
    },
  });
  app.any('/*', (res) => reject(res, 404, 'NOT_FOUND', `WebSocket route is ${TRADERS_PATH}`));

  const listening = await listen(app, opts.host, opts.port);
  return {
    port: listening.port,
    stats: () => ({ ...stats, refused: { ...stats.refused } }),
    async close() {
      closing = true;
      await Promise.allSettled([...pending]);
      for (const ws of [...sockets]) ws.end(1001, 'server shutting down');
      listening.close();
    },
  };
}

function reject(
  res: HttpResponse,
  status: 401 | 404 | 429 | 503,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  writeError(res, status, code, message, headers);
}
