import type { RowDataPacket } from 'mysql2/promise';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import { ensureGroup } from '../../infra/stream-consumer.js';
import { LIQUIDATION_ACCEPT_PREFIX, liquidationAcceptKey } from '../domain/liquidation.js';
import { signalKeyOf } from '../fanout/fanout.js';
import { FANOUT_GROUP } from '../fanout/fanout-worker.js';
import { decodeCopyEntry, decodeSignalEntry } from './codec.js';
import { PartitionStreams } from './partition-streams.js';
import { decodeLiquidationEntry } from './risk-events.js';
import { liquidationSeenKey } from './risk-intake.js';

/**
 * At the copy engine's start, before the fan-out and the ingress: every signal acked (and
 * every copier-liquidation request accepted, risk-intake.ts)
 * (recorded in copy_signal) whose fan-out is not recorded and that the stream no longer
 * holds (Redis lost it: a crash inside its AOF's second, a flush) is added again, in
 * acceptance order (`seq`), with its seen key. Redis loses the tail of what it was sent,
 * so what is appended comes after what the stream kept, as it was accepted.
 *
 * The fan-out may have placed some of such a signal's orders before Redis lost it, so the
 * entries are read into the group's pending list here: the fan-out worker takes pending
 * entries over at start as deliveries again, which skip recorded copiers and ask the
 * exchange before placing anything.
 */

interface AcceptScript {
  signalAccept(seen: string, stream: string, seenTtlMs: number, ...fields: string[]): Promise<string | null>;
}

export interface RequeueOptions {
  readonly redis: RedisClient;
  readonly pool: Pool;
  readonly prefix: string;
  /** the fan-out worker's consumer name: the pending entries are its own to take over */
  readonly consumer: string;
  readonly seenTtlMs: number;
  readonly logger: Logger;
  /** the partition whose rows and stream are checked, of how many (TF_COPY_PARTITIONS); 0 of 1 by default */
  readonly part?: number;
  readonly parts?: number;
}

const PAGE = 500;

/** Returns how many signals were queued again. */
export async function requeueAccepted(opts: RequeueOptions): Promise<number> {
  const redis = opts.redis as RedisClient & AcceptScript;
  const part = opts.part ?? 0;
  const partitions = new PartitionStreams(opts.prefix, opts.parts ?? 1);
  const stream = partitions.stream(part);
  const inStream = new Set<string>();
  for (let from = '-'; ; ) {
    const page = await redis.xrange(stream, from, '+', 'COUNT', PAGE);
    for (const [, fields] of page) {
      const e = decodeCopyEntry(fields);
      if ('signal' in e) inStream.add(signalKeyOf(e.signal.traderId, e.signal.signalId));
      else if ('liquidation' in e) inStream.add(liquidationAcceptKey(e.liquidation));
    }
    if (page.length < PAGE) break;
    from = `(${(page[page.length - 1] as [string, string[]])[0]}`;
  }
  let requeued = 0;
  for (let afterSeq = 0; ; ) {
    const [rows] = await opts.pool.query<RowDataPacket[]>(
      'SELECT seq, signal_key, entry FROM copy_signal WHERE done_ms IS NULL AND entry IS NOT NULL AND part=? AND seq > ? ORDER BY seq LIMIT ?',
      [part, afterSeq, PAGE],
    );
    for (const r of rows) {
      afterSeq = Number(r.seq);
      if (inStream.has(r.signal_key)) continue;
      if (String(r.signal_key).startsWith(LIQUIDATION_ACCEPT_PREFIX)) {
        // a copier-liquidation request (risk-intake.ts): field l
        const l = decodeLiquidationEntry(r.entry);
        if ('error' in l) {
          opts.logger.error(
            { signalKey: r.signal_key, reason: l.error },
            'accepted liquidation unreadable: not queued',
          );
          continue;
        }
        const seen = liquidationSeenKey(
          partitions.prefixOf(part),
          l.liquidation.account,
          l.liquidation.fillId,
        );
        await redis.del(seen);
        await redis.signalAccept(seen, stream, opts.seenTtlMs, 'l', r.entry);
        requeued++;
        continue;
      }
      const e = decodeSignalEntry(['m', r.entry]);
      if ('error' in e) {
        opts.logger.error(
          { signalKey: r.signal_key, reason: e.error },
          'accepted signal unreadable: not queued',
        );
        continue;
      }
      const seen = partitions.seen(part, e.signal.traderId, e.signal.signalId);
      // the seen key may have outlived the entry; the row says it is not done
      await redis.del(seen);
      await redis.signalAccept(seen, stream, opts.seenTtlMs, 'm', r.entry);
      requeued++;
    }
    if (rows.length < PAGE) break;
  }
  if (requeued > 0) {
    await ensureGroup(redis, stream, FANOUT_GROUP);
    // every entry not yet delivered becomes pending: the worker runs them as deliveries again
    while (true) {
      const reply = (await redis.xreadgroup(
        'GROUP',
        FANOUT_GROUP,
        opts.consumer,
        'COUNT',
        PAGE,
        'STREAMS',
        stream,
        '>',
      )) as [string, unknown[]][] | null;
      if (!reply || (reply[0]?.[1].length ?? 0) < PAGE) break;
    }
    opts.logger.warn({ requeued }, 'acknowledged signals missing from the stream queued again');
  }
  return requeued;
}
