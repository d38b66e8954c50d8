import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import type { TraderSignal } from '../domain/signal.js';
import { signalKeyOf } from '../fanout/fanout.js';
import { encodeSignalEntry, type SignalSource } from './codec.js';
import { PartitionStreams } from './partition-streams.js';

/**
 * The one way a signal enters tradeflow, from a trader's frame or a fill event alike. An
 * ack means durable:
 *
 * 1. the signal is inserted into MySQL's copy_signal (INSERT IGNORE, one round trip): its
 *    unique key (trader, signal id) is the dedup that survives Redis losing its data;
 * 2. a new one is added to `{prefix}:copy:signals` with its seen key (one Lua call,
 *    redis/signal-accept-2.lua); only then is it acknowledged.
 *
 * With TF_COPY_PARTITIONS = P > 1 the signal is P rows (one per partition, in one INSERT)
 * and P entries, each partition's with a seen key beside its stream
 * (partition-streams.ts); each partition marks its row done.
 *
 * A signal MySQL already holds is a duplicate; if its fan-out is not recorded and Redis no
 * longer remembers it (the add failed, or Redis lost it) it is added again from the stored
 * entry. A trader's signals are accepted one after the other, so the stream and the
 * table's `seq` hold them in the order they arrived; what was acked but is missing from the
 * stream when the engine starts is queued again (requeue.ts).
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
  /** the engine's database (copy_signal) */
  readonly pool: Pool;
  readonly prefix: string;
  /** how long a signal id is remembered (ms) */
  readonly seenTtlMs: number;
  /**
   * how far a trader's signal's filledMs may be ahead of the receive time; a signal filled
   * more than seenTtlMs − maxSkewMs ago, or a frame's further ahead than this, is stale
   */
  readonly maxSkewMs: number;
  /**
   * TF_COPY_PARTITIONS (default 1): a signal is one copy_signal row and one stream entry per
   * partition (partition-streams.ts), each done on its own
   */
  readonly parts?: number;
}

const STALE: Accepted = { duplicate: false, stale: true, entryId: null };
const DUPLICATE: Accepted = { duplicate: true, stale: false, entryId: null };

/** What a stale signal is told (an error frame) or dead-lettered with. */
export const STALE_REASON = 'filledMs is outside the window signal ids are remembered for';

export function createSignalAcceptor(opts: AcceptOptions): AcceptSignal {
  const redis = opts.redis as RedisClient & AcceptScript;
  const partitions = new PartitionStreams(opts.prefix, opts.parts ?? 1);
  const maxAgeMs = opts.seenTtlMs - opts.maxSkewMs;
  /** each trader's last acceptance: the next waits for it, so MySQL's order is the stream's */
  const tails = new Map<string, Promise<unknown>>();

  /** One partition's entry with its seen key (one script: both keys in the partition's slot); null if seen. */
  const addToStream = (part: number, signal: TraderSignal, entry: string): Promise<string | null> =>
    redis.signalAccept(
      partitions.seen(part, signal.traderId, signal.signalId),
      partitions.stream(part),
      opts.seenTtlMs,
      'm',
      entry,
    );

  /** The entry ids added (null where a partition's seen key held it already); the first is what the ack names. */
  const addTo = async (parts: readonly number[], signal: TraderSignal, entry: string) => {
    const ids = await Promise.all(parts.map((part) => addToStream(part, signal, entry)));
    return ids.find((id) => id !== null) ?? null;
  };

  const store = async (signal: TraderSignal, receivedMs: number, source: SignalSource): Promise<Accepted> => {
    const key = signalKeyOf(signal.traderId, signal.signalId);
    const entry = encodeSignalEntry({ signal, receivedMs, source })[1] as string;
    const payload = JSON.stringify(signal);
    // one row per partition, in one statement: all of them or none
    const [inserted] = await opts.pool.query<ResultSetHeader>(
      'INSERT IGNORE INTO copy_signal (signal_key, part, trader_id, payload, entry, received_ms) VALUES ?',
      [partitions.all().map((part) => [key, part, signal.traderId, payload, entry, receivedMs])],
    );
    if (inserted.affectedRows > 0) {
      const entryId = await addTo(partitions.all(), signal, entry);
      return { duplicate: entryId === null, stale: false, entryId };
    }
    // a duplicate (rare): queued again where its fan-out is not recorded and Redis forgot it
    const [rows] = await opts.pool.query<RowDataPacket[]>(
      'SELECT part, entry FROM copy_signal WHERE signal_key=? AND done_ms IS NULL',
      [key],
    );
    const open = rows.filter((r) => typeof r.entry === 'string' && Number(r.part) < partitions.parts);
    if (open.length > 0) {
      const entryId = await addTo(
        open.map((r) => Number(r.part)),
        signal,
        open[0]?.entry as string,
      );
      return { duplicate: true, stale: false, entryId };
    }
    return DUPLICATE;
  };

  return (signal, receivedMs, source) => {
    const age = receivedMs - signal.filledMs;
    // a fill is stamped by the exchange's clock, not ours nor the trader's: ahead of us is
    // no replay (and MySQL's key is the dedup); only its age bounds it
    if (age > maxAgeMs || (source === 'ws' && age < -opts.maxSkewMs)) return Promise.resolve(STALE);
    const before = tails.get(signal.traderId);
    const run = before
      ? before.then(() => store(signal, receivedMs, source))
      : store(signal, receivedMs, source);
    const tail = run.catch(() => undefined);
    tails.set(signal.traderId, tail);
    void tail.then(() => {
      if (tails.get(signal.traderId) === tail) tails.delete(signal.traderId);
    });
    return run;
  };
}
