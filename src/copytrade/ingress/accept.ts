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
  /**
   * true when the signal's filledMs is outside the window its id is remembered for (a
   * replayed fill a day later would close copiers' slices again): refused, nothing added
   */
  readonly stale: boolean;
  /** the stream entry added, or null for a duplicate or a stale signal */
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
  /**
   * how far a signal's filledMs may be ahead of the receive time; one filled more than
   * seenTtlMs − maxSkewMs ago, or further ahead than this, is stale: a replay of it could
   * come after its id is forgotten
   */
  readonly maxSkewMs: number;
}

const STALE: Accepted = { duplicate: false, stale: true, entryId: null };

/** What a stale signal is told (an error frame) or dead-lettered with. */
export const STALE_REASON = 'filledMs is outside the window signal ids are remembered for';

export function createSignalAcceptor(opts: AcceptOptions): AcceptSignal {
  const redis = opts.redis as RedisClient & AcceptScript;
  const stream = signalStreamKey(opts.prefix);
  const maxAgeMs = opts.seenTtlMs - opts.maxSkewMs;
  return async (signal, receivedMs, source) => {
    const age = receivedMs - signal.filledMs;
    if (age > maxAgeMs || age < -opts.maxSkewMs) return STALE;
    const entryId = await redis.signalAccept(
      seenKey(opts.prefix, signal.traderId, signal.signalId),
      stream,
      opts.seenTtlMs,
      ...encodeSignalEntry({ signal, receivedMs, source }),
    );
    return { duplicate: entryId === null, stale: false, entryId };
  };
}
