import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import { liquidationAcceptKey } from '../domain/liquidation.js';
import type { LeaderTable } from './fill-filter.js';
import { PartitionStreams } from './partition-streams.js';
import { encodeLiquidationEntry, type MarginAdded, type RiskEvent } from './risk-events.js';

/**
 * Where the fill intake hands risk events (risk-events.ts). A liquidation's fill becomes a
 * copier-liquidation request for the fan-out (which finds whose account it is and records it
 * once in MySQL), accepted as a signal is (accept.ts): first its copy_signal row
 * (`liqreq/{fillId}@{account}`, the durable dedup, queued again at start if Redis lost the
 * entry), then the stream entry with its seen key. A lead's margin change goes to `margin`
 * (its copiers' notices); one of an account that leads nothing on the instrument is nobody's news.
 */

/** redis/signal-accept-2.lua: the seen key and the XADD in one call */
interface AcceptScript {
  signalAccept(seen: string, stream: string, seenTtlMs: number, ...fields: string[]): Promise<string | null>;
}

export const liquidationSeenKey = (prefix: string, account: string, fillId: string): string =>
  `${prefix}:copy:seen-liq:${account}:${fillId}`;

export function riskHandler(opts: {
  redis: RedisClient;
  /** the engine's database (copy_signal) */
  pool: Pool;
  prefix: string;
  seenTtlMs: number;
  /** TF_COPY_PARTITIONS: a liquidation goes to the partitions of the copiers of its account */
  parts?: number;
  margin: (m: MarginAdded, traderId: string) => Promise<unknown>;
}): (event: RiskEvent, receivedMs: number, leaders: LeaderTable) => Promise<void> {
  const redis = opts.redis as RedisClient & AcceptScript;
  const partitions = new PartitionStreams(opts.prefix, opts.parts ?? 1);
  /** the partitions of the copiers on the account (partition 0 when none is: it records that nothing was closed) */
  const partsOf = async (account: string): Promise<number[]> => {
    if (partitions.parts === 1) return [0];
    const [rows] = await opts.pool.query<RowDataPacket[]>(
      'SELECT copier_id FROM copy_copier WHERE account_id=?',
      [account.split('/')[0]],
    );
    const parts = new Set(rows.map((r) => partitions.ofCopier(r.copier_id as string)));
    return parts.size === 0 ? [0] : [...parts].sort((a, b) => a - b);
  };
  return async (event, receivedMs, leaders) => {
    if (event.kind === 'liquidation') {
      const l = event.liquidation;
      const key = liquidationAcceptKey(l);
      const fields = encodeLiquidationEntry({ liquidation: l, receivedMs });
      const payload = JSON.stringify(l);
      const parts = await partsOf(l.account);
      const [inserted] = await opts.pool.query<ResultSetHeader>(
        'INSERT IGNORE INTO copy_signal (signal_key, part, trader_id, payload, entry, received_ms) VALUES ?',
        [parts.map((part) => [key, part, l.account, payload, fields[1], receivedMs])],
      );
      let open = parts;
      if (inserted.affectedRows === 0) {
        // seen before: queued again only where not done (the seen key keeps a remembered one single)
        const [rows] = await opts.pool.query<RowDataPacket[]>(
          'SELECT part FROM copy_signal WHERE signal_key=? AND done_ms IS NULL',
          [key],
        );
        open = rows.map((r) => Number(r.part)).filter((p) => p < partitions.parts);
      }
      for (const part of open) {
        await redis.signalAccept(
          liquidationSeenKey(partitions.prefixOf(part), l.account, l.fillId),
          partitions.stream(part),
          opts.seenTtlMs,
          ...fields,
        );
      }
      return;
    }
    const traderId = leaders.leaderOf(event.margin.account, event.margin.instrument);
    if (traderId !== undefined) await opts.margin(event.margin, traderId);
  };
}
