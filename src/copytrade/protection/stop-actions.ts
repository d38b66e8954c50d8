import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import { copierChanged, type PublishCopyChanges } from '../copy-changes.js';
import { TRIGGER_NAMES, type Trigger } from '../domain/stops.js';
import { encodeCloseOutEntry } from '../ingress/codec.js';
import { PartitionStreams } from '../ingress/partition-streams.js';
import { type NoticePusher, notify } from '../notices/notices.js';
import type { StopActions } from './stop-watcher.js';

/**
 * What a copier stop does, in an order that a crash at any point leaves repairable (the
 * watcher of the next holder sees the same slices and decides the same request id):
 *   1. an equity stop or daily loss limit pauses the follow in MySQL, announces it, and
 *      waits until this process's book holds it: no open of the lead is copied after it;
 *   2. the copier is told (one notice per request id);
 *   3. the close is queued on the signal stream as a close-out request (close-out.ts): the
 *      fan-out closes it in turn with the trader's signals, under `stop/{requestId}/…`.
 */
export function stopActions(deps: {
  pool: Pool;
  redis: RedisClient;
  prefix: string;
  publish: PublishCopyChanges;
  /** resolves once the book holds the copier's follows as MySQL has them */
  reloadCopier: (copierId: string) => Promise<void>;
  push: NoticePusher;
  /** where a copier's close-out goes: its partition's stream (one partition unless given) */
  partitions?: PartitionStreams;
}): StopActions {
  const { pool, redis, prefix } = deps;
  const partitions = deps.partitions ?? new PartitionStreams(prefix);
  return {
    async fire(t: Trigger) {
      if (t.pause) {
        const [res] = await pool.query<ResultSetHeader>(
          "UPDATE copy_follow SET status='paused', updated_ms=? WHERE copier_id=? AND trader_id=? AND status='active'",
          [Date.now(), t.copierId, t.traderId],
        );
        if (res.affectedRows > 0) await deps.publish(copierChanged(t.copierId));
        await deps.reloadCopier(t.copierId);
      }
      await notify(
        pool,
        {
          userId: t.copierId,
          kind: 'protection',
          dedupKey: `protection:${t.copierId}:${t.requestId}`,
          payload: {
            traderId: t.traderId,
            trigger: TRIGGER_NAMES[t.kind],
            requestId: t.requestId,
            ...(t.slice === undefined ? {} : { instrument: t.slice.instrument, side: t.slice.side }),
            markPrice: t.markPrice,
            detail: t.detail,
            paused: t.pause,
          },
        },
        deps.push,
      );
      const request = {
        requestId: t.requestId,
        copierId: t.copierId,
        traderId: t.traderId,
        requestedMs: Date.now(),
        ...(t.slice === undefined ? {} : { slice: t.slice }),
      };
      await redis.xadd(partitions.copierStream(t.copierId), '*', ...encodeCloseOutEntry(request));
    },

    async dayBases(day, now) {
      const created = Date.now();
      await pool.query(
        'INSERT IGNORE INTO copy_follow_day (copier_id, trader_id, day, base_pnl, created_ms) VALUES ?',
        [now.map((b) => [b.copierId, b.traderId, day, b.pnl, created])],
      );
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT copier_id, trader_id, base_pnl FROM copy_follow_day WHERE day=? AND (copier_id, trader_id) IN (?)',
        [day, now.map((b) => [b.copierId, b.traderId])],
      );
      return new Map(rows.map((r) => [`${r.copier_id}|${r.trader_id}`, trim(String(r.base_pnl))]));
    },
  };
}

/** DECIMAL(36,18) comes back zero-padded; fx() reads at most 18 places either way. */
const trim = (v: string): string => (v.includes('.') ? v.replace(/\.?0+$/, '') : v) || '0';
