import uWS from 'uWebSockets.js';
import {
  EXCHANGE_EVENTS_PATH,
  type MarginEvent,
  type OrderOutcome,
  type SubscribedFrame,
} from '../../clients/exchange-wire.js';
import { queryOf, type TemplatedApp } from '../../infra/http.js';
import { fillEvents } from './events.js';
import { accountId } from './requests.js';

/**
 * The fill events WebSocket (`/exchange/events`, `?account=A&account=B` to narrow it). Each
 * subscriber gets a `subscribed` frame, then every fill leg as it happens, in order, and
 * every margin change of a position (`type: 'margin'`).
 *
 * A subscriber that does not keep up is disconnected (closed at once, the client sees 1006)
 * as soon as more than `maxBackpressure` bytes wait for it: never waited for, never silently
 * skipped. uWS's own publish would skip messages to a slow socket without telling it, so the
 * events are sent socket by socket, with the check before each send.
 */

interface Subscriber {
  /** empty: every account */
  accounts: ReadonlySet<string>;
}
type Socket = uWS.WebSocket<Subscriber>;

export interface FillEventsSocket {
  /** Sends the fills of these results (replays, cancels and rejections have none) to their subscribers. */
  publish(results: readonly OrderOutcome[]): void;
  /** Sends a margin change of a position (`POST /exchange/margin`) to its account's subscribers. */
  publishMargin(event: MarginEvent): void;
  readonly subscribers: number;
  /** slow subscribers disconnected so far */
  readonly dropped: number;
  /** disconnects every subscriber */
  close(): void;
}

export function mountFillEvents(app: TemplatedApp, maxBackpressure: number): FillEventsSocket {
  const sockets = new Set<Socket>();
  let dropped = 0;

  const sendAll = (ws: Socket, frames: readonly { account: string; json: string }[]): void => {
    const { accounts } = ws.getUserData();
    ws.cork(() => {
      for (const frame of frames) {
        if (accounts.size > 0 && !accounts.has(frame.account)) continue;
        if (ws.getBufferedAmount() > maxBackpressure) {
          dropped++;
          ws.close(); // calls the close handler, which forgets it
          return;
        }
        ws.send(frame.json);
      }
    });
  };

  app.ws<Subscriber>(EXCHANGE_EVENTS_PATH, {
    compression: uWS.DISABLED,
    maxPayloadLength: 1024,
    // the limit is enforced above; uWS's own (which skips messages) must never be reached
    maxBackpressure: maxBackpressure + 1024 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      let accounts: Set<string>;
      try {
        accounts = new Set(
          queryOf(req)
            .getAll('account')
            .map((a) => accountId(a)),
        );
      } catch (err) {
        const body = JSON.stringify({ code: 'INVALID_REQUEST', message: (err as Error).message });
        res.writeStatus('400 Bad Request').writeHeader('content-type', 'application/json').end(body);
        return;
      }
      res.upgrade<Subscriber>(
        { accounts },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      sockets.add(ws);
      const hello: SubscribedFrame = { type: 'subscribed', accounts: [...ws.getUserData().accounts] };
      ws.send(JSON.stringify(hello));
    },
    // subscribers have nothing to say; what they send is ignored
    message: () => {},
    close: (ws) => {
      sockets.delete(ws);
    },
  });

  return {
    publish(results) {
      if (sockets.size === 0) return;
      const frames: { account: string; json: string }[] = [];
      for (const r of results) {
        if (r.status !== 'filled' || r.replay) continue;
        for (const event of fillEvents(r))
          frames.push({ account: event.account, json: JSON.stringify(event) });
      }
      if (frames.length === 0) return;
      for (const ws of sockets) sendAll(ws, frames);
    },
    publishMargin(event) {
      const frames = [{ account: event.account, json: JSON.stringify(event) }];
      for (const ws of sockets) sendAll(ws, frames);
    },
    get subscribers() {
      return sockets.size;
    },
    get dropped() {
      return dropped;
    },
    close() {
      for (const ws of [...sockets]) ws.end(1001, 'simulator shutting down');
    },
  };
}
