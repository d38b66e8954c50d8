import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import { liquidationAcceptKey } from '../domain/liquidation.js';
import { signalStreamKey } from './codec.js';
import type { LeaderTable } from './fill-filter.js';
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
  margin: (m: MarginAdded, traderId: string) => Promise<unknown>;
}): (event: RiskEvent, receivedMs: number, leaders: LeaderTable) => Promise<void> {
  const redis = opts.redis as RedisClient & AcceptScript;
  const stream = signalStreamKey(opts.prefix);
  return async (event, receivedMs, leaders) => {
    if (event.kind === 'liquidation') {
      const l = event.liquidation;
      const key = liquidationAcceptKey(l);
      const fields = encodeLiquidationEntry({ liquidation: l, receivedMs });
      const [inserted] = await opts.pool.query<ResultSetHeader>(
        'INSERT IGNORE INTO copy_signal (signal_key, trader_id, payload, entry, received_ms) VALUES (?, ?, ?, ?, ?)',
        [key, l.account, JSON.stringify(l), fields[1], receivedMs],
      );
      if (inserted.affectedRows === 0) {
        // seen before: queued again only if not done (the seen key keeps a remembered one single)
        const [[row]] = await opts.pool.query<RowDataPacket[]>(
          'SELECT done_ms FROM copy_signal WHERE signal_key=?',
          [key],
        );
        if (row?.done_ms !== null) return;
      }
      await redis.signalAccept(
        liquidationSeenKey(opts.prefix, l.account, l.fillId),
        stream,
        opts.seenTtlMs,
        ...fields,
      );
      return;
    }
    const traderId = leaders.leaderOf(event.margin.account, event.margin.instrument);
    if (traderId !== undefined) await opts.margin(event.margin, traderId);
  };
}
