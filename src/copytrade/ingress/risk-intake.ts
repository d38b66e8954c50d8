import type { RedisClient } from '../../infra/redis.js';
import { signalStreamKey } from './codec.js';
import type { LeaderTable } from './fill-filter.js';
import { encodeLiquidationEntry, type MarginAdded, type RiskEvent } from './risk-events.js';

/**
 * Where the fill intake hands risk events (risk-events.ts): a liquidation's fill goes to the
 * signal stream as a copier-liquidation request (the fan-out finds whose account it is, and
 * records it once in MySQL), at most once per fill while its id is remembered; a lead's margin
 * change goes to `margin` (the copiers' notices). A margin change of an account that leads
 * nothing on the instrument is nobody's news.
 */

/** redis/signal-accept-2.lua: the seen key and the XADD in one call */
interface AcceptScript {
  signalAccept(seen: string, stream: string, seenTtlMs: number, ...fields: string[]): Promise<string | null>;
}

export const liquidationSeenKey = (prefix: string, account: string, fillId: string): string =>
  `${prefix}:copy:seen-liq:${account}:${fillId}`;

export function riskHandler(opts: {
  redis: RedisClient;
  prefix: string;
  seenTtlMs: number;
  margin: (m: MarginAdded, traderId: string) => Promise<unknown>;
}): (event: RiskEvent, receivedMs: number, leaders: LeaderTable) => Promise<void> {
  const redis = opts.redis as RedisClient & AcceptScript;
  const stream = signalStreamKey(opts.prefix);
  return async (event, receivedMs, leaders) => {
    if (event.kind === 'liquidation') {
      const l = event.liquidation;
      await redis.signalAccept(
        liquidationSeenKey(opts.prefix, l.account, l.fillId),
        stream,
        opts.seenTtlMs,
        ...encodeLiquidationEntry({ liquidation: l, receivedMs }),
      );
      return;
    }
    const traderId = leaders.leaderOf(event.margin.account, event.margin.instrument);
    if (traderId !== undefined) await opts.margin(event.margin, traderId);
  };
}
