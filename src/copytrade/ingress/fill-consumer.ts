import { WebSocket } from 'undici';
import type { Logger } from '../../infra/log.js';
import {
  createFillIntake,
  type FillIntake,
  type FillIntakeOptions,
  type FillIntakeStats,
} from './fill-intake.js';

/**
 * Subscribes to the trading system's fill events over a WebSocket (the exchange simulator's
 * `/exchange/events`) and feeds every message to the fill intake. Reconnects with backoff
 * (100 ms doubling to 5 s) when the connection drops.
 *
 * The feed has no offsets: fills sent while disconnected are not seen. Kafka, in production,
 * resumes from the committed offset; a fill seen twice is one signal (`fill-{fillId}`).
 */

export interface FillConsumerOptions extends FillIntakeOptions {
  /** e.g. ws://127.0.0.1:7400/exchange/events */
  readonly url: string;
  readonly logger?: Logger;
}

export interface FillConsumer {
  readonly intake: FillIntake;
  /** resolves at the first successful connection */
  readonly connected: Promise<void>;
  isConnected(): boolean;
  stats(): FillIntakeStats & { connects: number };
  close(): Promise<void>;
}

const MAX_BACKOFF_MS = 5000;

export function startFillConsumer(opts: FillConsumerOptions): FillConsumer {
  const log = opts.logger;
  const intake = createFillIntake(opts);
  const decoder = new TextDecoder();
  let ws: WebSocket | undefined;
  let open = false;
  let stopped = false;
  let connects = 0;
  let backoffMs = 100;
  let retryTimer: NodeJS.Timeout | undefined;
  let markConnected: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    markConnected = resolve;
  });

  const connect = (): void => {
    retryTimer = undefined;
    if (stopped) return;
    const socket = new WebSocket(opts.url);
    ws = socket;
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', () => {
      open = true;
      connects++;
      backoffMs = 100;
      markConnected();
      log?.info({ url: opts.url }, 'fill events: connected');
    });
    socket.addEventListener('message', (ev) => {
      const receivedMs = Date.now();
      const data: unknown = ev.data;
      const text = typeof data === 'string' ? data : decoder.decode(data as ArrayBuffer);
      intake.onEvent(text, receivedMs);
    });
    socket.addEventListener('error', () => {
      // followed by close, which reconnects
    });
    socket.addEventListener('close', (ev) => {
      open = false;
      if (stopped) return;
      log?.warn({ url: opts.url, code: ev.code, retryMs: backoffMs }, 'fill events: disconnected');
      retryTimer = setTimeout(connect, backoffMs);
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    });
  };
  connect();

  return {
    intake,
    connected,
    isConnected: () => open,
    stats: () => ({ ...intake.stats(), connects }),
    async close() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      ws?.close(1000, 'closing');
      await intake.close();
    },
  };
}
