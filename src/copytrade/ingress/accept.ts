import type { RedisClient } from '../../infra/redis.js';
import type { TraderSignal } from '../domain/signal.js';
import { encodeSignalEntry, type SignalSource, seenKey, signalStreamKey } from './codec.js';

/**
 * The one way a signal enters tradeflow, from a trader's frame or a fill event alike:
 * deduplicated by (trader, signal id) and added to `{prefix}:copy:signals` in one atomic
 * round trip (redis/signal-accept-2.lua). Calls on one connection run in order, so the
 * stream holds a trader's signals in the order they arrived.
 */

export interface Accepted {
  /** true when the signal id had been seen: nothing was added */
  readonly duplicate: boolean;
  /** the stream entry added, or null for a duplicate */
  readonly entryId: string | null;
}

export type AcceptSignal = (
  signal: TraderSignal,
  receivedMs: number,
  source: SignalSource,
) => Promise<Accepted>;

/** redis/signal-accept-2.lua, loaded by createRedis (not yet declared in infra/redis.ts's Scripts). */
interface AcceptScript {
  signalAccept(seen: string, stream: string, seenTtlMs: number, ...fields: string[]): Promise<string | null>;
}

export interface AcceptOptions {
  readonly redis: RedisClient;
  readonly prefix: string;
  /** how long a signal id is remembered (ms) */
  readonly seenTtlMs: number;
}

export function createSignalAcceptor(opts: AcceptOptions): AcceptSignal {
  const redis = opts.redis as RedisClient & AcceptScript;
  const stream = signalStreamKey(opts.prefix);
  return async (signal, receivedMs, source) => {
    const entryId = await redis.signalAccept(
      seenKey(opts.prefix, signal.traderId, signal.signalId),
      stream,
      opts.seenTtlMs,
      ...encodeSignalEntry({ signal, receivedMs, source }),
    );
    return { duplicate: entryId === null, entryId };
  };
}
