import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import type { AttemptLimiter } from '../api/attempt-limiter.js';
import { createSignalAcceptor } from './accept.js';
import { type FillConsumer, startFillConsumer } from './fill-consumer.js';
import type { Leader, LeaderTable } from './fill-filter.js';
import { createDeadLetter } from './fill-intake.js';
import { type LeaderRefresh, startLeaderRefresh } from './leader-refresh.js';
import type { RiskEvent } from './risk-events.js';
import { type CredentialLookup, type SignalIngress, startSignalIngress } from './server.js';

/**
 * The signal ingress of the copy-trading engine, wired: both sources of signals into the one
 * accept path and the stream `{prefix}:copy:signals`.
 */

export interface CopyIngressOptions {
  readonly redis: RedisClient;
  /** the engine's database: a signal is recorded there before it is acknowledged */
  readonly pool: Pool;
  readonly prefix: string;
  /** WebSocket of the lead traders */
  readonly host: string;
  readonly port: number;
  readonly credentials: CredentialLookup;
  /** failed API keys per remote address (shared with the copiers' API) */
  readonly attempts?: AttemptLimiter;
  /** how long a signal id is remembered; must exceed maxSkewMs */
  readonly seenTtlMs: number;
  /** TF_COPY_PARTITIONS: each signal goes to every partition's stream (accept.ts) */
  readonly parts?: number;
  readonly frameMaxBytes: number;
  readonly maxSkewMs: number;
  /**
   * The lead traders (what each leads, where its signals come from), reloaded every
   * `refreshMs` and on `leaders.refresh()`: both the frames and the fills are checked against them.
   */
  readonly leads: {
    readonly load: () => Promise<Iterable<Leader>>;
    readonly refreshMs: number;
  };
  /** the trading system's fill events; left out: traders' frames only */
  readonly fills?: {
    /** e.g. ws://127.0.0.1:7400/exchange/events */
    readonly url: string;
    /** liquidations and margin changes on the feed (risk-intake.ts), with the lead table of the moment */
    readonly onRisk?: (event: RiskEvent, receivedMs: number, leaders: LeaderTable) => Promise<void>;
  };
  readonly logger: Logger;
}

export interface CopyIngress {
  readonly port: number;
  readonly server: SignalIngress;
  readonly fills: FillConsumer | undefined;
  /** refresh() when a trader starts or stops leading, or its lead settings change */
  readonly leaders: LeaderRefresh;
  close(): Promise<void>;
}

export async function startCopyIngress(opts: CopyIngressOptions): Promise<CopyIngress> {
  const log = opts.logger;
  if (opts.seenTtlMs <= opts.maxSkewMs) {
    throw new Error('seenTtlMs must exceed maxSkewMs, or a replayed frame could be accepted twice');
  }
  // 1. the accept path: recorded in MySQL (the durable dedup), then XADD, then the ack
  const accept = createSignalAcceptor({
    redis: opts.redis,
    pool: opts.pool,
    prefix: opts.prefix,
    seenTtlMs: opts.seenTtlMs,
    maxSkewMs: opts.maxSkewMs,
    parts: opts.parts ?? 1,
  });

  // 2. the lead table, kept fresh: a frame and a fill are each checked against their lead
  const leaders = await startLeaderRefresh(opts.leads.load, opts.leads.refreshMs, (err) =>
    log.error({ err }, 'copy ingress: could not reload the lead traders; the previous table stays'),
  );

  // 3. lead traders' frames over WebSocket
  let server: SignalIngress;
  try {
    server = await startSignalIngress({
      host: opts.host,
      port: opts.port,
      credentials: opts.credentials,
      leads: leaders.table,
      onUnknownLead: () => leaders.refreshSoon(),
      attempts: opts.attempts,
      accept,
      frameMaxBytes: opts.frameMaxBytes,
      maxSkewMs: opts.maxSkewMs,
      logger: log,
    });
  } catch (err) {
    await leaders.stop();
    throw err;
  }

  // 4. trading-system fills: only the fills of leads whose signals they are pass the filter
  let fills: FillConsumer | undefined;
  if (opts.fills) {
    const onRisk = opts.fills.onRisk;
    fills = startFillConsumer({
      ...(onRisk ? { onRisk: (e: RiskEvent, ms: number) => onRisk(e, ms, leaders.table()) } : {}),
      url: opts.fills.url,
      leaders: leaders.table,
      accept,
      deadLetter: createDeadLetter(opts.redis, opts.prefix),
      logger: log,
    });
  }

  return {
    port: server.port,
    server,
    fills,
    leaders,
    async close() {
      await fills?.close();
      await server.close();
      await leaders.stop();
    },
  };
}
