import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../infra/redis.js';
import {
  BOARD_METRICS,
  BOARD_WINDOWS,
  type BoardCursor,
  type BoardMetric,
  boardScore,
  type LeadMetrics,
} from '../domain/leaderboard.js';
import type { NavPoint, WindowName } from '../domain/nav.js';
import type { LeadEntry, LeadProfile } from './history.js';

/**
 * The leaderboard in Redis: one sorted set per (metric, window), member = traderId, score
 * from boardScore (ascending is best first; equal scores in member byte order, so ties are
 * broken by traderId), and a hash per listed lead holding its profile, its metric object per
 * window and its NAV points. Only listed leads (approved and public) are in them.
 *
 *   {prefix}:board:z:{metric}:{window}   sorted set
 *   {prefix}:board:lead:{traderId}       hash: profile, asOf, m:{window}, nav:{window} (JSON)
 *   {prefix}:board:leads                 set of the listed trader ids
 */
export const boardSetKey = (prefix: string, metric: BoardMetric, window: WindowName): string =>
  `${prefix}:board:z:${metric}:${window}`;
const leadKey = (prefix: string, traderId: string): string => `${prefix}:board:lead:${traderId}`;
const leadsKey = (prefix: string): string => `${prefix}:board:leads`;

/** redis/board-after-1.lua, loaded by createRedis (not declared in infra/redis.ts's Scripts). */
interface AfterScript {
  boardAfter(key: string, score: string, member: string, count: number): Promise<string[]>;
}

/** A score as Redis takes and prints it. */
const scoreText = (n: number): string =>
  n === Number.POSITIVE_INFINITY ? '+inf' : n === Number.NEGATIVE_INFINITY ? '-inf' : String(n);
const scoreOf = (text: string): number =>
  text === 'inf' || text === '+inf'
    ? Number.POSITIVE_INFINITY
    : text === '-inf'
      ? Number.NEGATIVE_INFINITY
      : Number(text);

export interface BoardRow {
  traderId: string;
  score: number;
  metrics: LeadMetrics;
  profile: LeadProfile;
  nav: NavPoint[];
}

export interface BoardFilter {
  /** leads leading at least this many days */
  minDaysLed?: number;
  /** a maximum drawdown (fraction) in the window of at most this */
  maxDrawdown?: number;
  /** only leads with a free place */
  vacancy?: boolean;
}

export interface BoardPage {
  items: BoardRow[];
  /** of the last item, when more may follow; null at the end */
  next: BoardCursor | null;
}

function entryFields(e: LeadEntry): string[] {
  const fields = ['profile', JSON.stringify(e.profile), 'asOf', String(e.asOf)];
  for (const w of BOARD_WINDOWS) {
    fields.push(`m:${w}`, JSON.stringify(e.metrics[w]), `nav:${w}`, JSON.stringify(e.nav[w]));
  }
  return fields;
}

const passes = (row: BoardRow, f: BoardFilter): boolean =>
  (f.minDaysLed === undefined || row.profile.daysLed >= f.minDaysLed) &&
  (f.maxDrawdown === undefined || Number(row.metrics.maxDrawdown) <= f.maxDrawdown) &&
  (f.vacancy !== true || row.metrics.vacancy > 0);

export class BoardStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** Puts these leads' entries on the board (or takes the unlisted ones off it), in one MULTI. */
  async write(entries: readonly LeadEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const m = this.redis.multi();
    for (const e of entries) {
      const hash = leadKey(this.prefix, e.traderId);
      m.del(hash);
      if (e.listed) {
        m.hset(hash, ...entryFields(e));
        m.sadd(leadsKey(this.prefix), e.traderId);
      } else {
        m.srem(leadsKey(this.prefix), e.traderId);
      }
      for (const metric of BOARD_METRICS) {
        for (const w of BOARD_WINDOWS) {
          const key = boardSetKey(this.prefix, metric, w);
          if (e.listed) m.zadd(key, scoreText(boardScore(e.metrics[w], metric)), e.traderId);
          else m.zrem(key, e.traderId);
        }
      }
    }
    await m.exec();
  }

  /**
   * The whole board replaced by `entries` (a rebuild): written under temporary keys, then
   * renamed over the live ones in one MULTI, so a reader sees the old board or the new one,
   * never a mix; leads no longer listed lose their hash in the same MULTI.
   */
  async replace(entries: readonly LeadEntry[]): Promise<void> {
    const tmp = `:tmp-${randomBytes(4).toString('hex')}`;
    const listed = entries.filter((e) => e.listed);
    const build = this.redis.pipeline();
    const sets: string[] = [];
    for (const metric of BOARD_METRICS) {
      for (const w of BOARD_WINDOWS) {
        const key = boardSetKey(this.prefix, metric, w);
        sets.push(key);
        for (let i = 0; i < listed.length; i += 500) {
          const args = listed
            .slice(i, i + 500)
            .flatMap((e) => [scoreText(boardScore(e.metrics[w], metric)), e.traderId]);
          build.zadd(key + tmp, ...args);
        }
      }
    }
    for (const e of listed) build.hset(leadKey(this.prefix, e.traderId) + tmp, ...entryFields(e));
    if (listed.length > 0) build.sadd(leadsKey(this.prefix) + tmp, ...listed.map((e) => e.traderId));
    await build.exec();
    const before = await this.redis.smembers(leadsKey(this.prefix));
    const now = new Set(listed.map((e) => e.traderId));
    const swap = this.redis.multi();
    for (const key of [...sets, leadsKey(this.prefix)]) {
      if (listed.length > 0) swap.rename(key + tmp, key);
      else swap.del(key);
    }
    for (const e of listed)
      swap.rename(leadKey(this.prefix, e.traderId) + tmp, leadKey(this.prefix, e.traderId));
    for (const id of before) if (!now.has(id)) swap.del(leadKey(this.prefix, id));
    const results = await swap.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  /**
   * One page of the board of (metric, window) after `cursor`, with `filter` applied: read in
   * chunks in the set's order until `limit` rows pass. The cursor is the last row returned,
   * so a walk sees every listed lead once, in order, whatever the filter skipped.
   */
  async page(
    metric: BoardMetric,
    window: WindowName,
    limit: number,
    cursor: BoardCursor | null,
    filter: BoardFilter = {},
  ): Promise<BoardPage> {
    const key = boardSetKey(this.prefix, metric, window);
    const chunk = Math.max(limit, 50);
    const items: BoardRow[] = [];
    let at = cursor;
    for (;;) {
      const flat = at
        ? await (this.redis as RedisClient & AfterScript).boardAfter(
            key,
            scoreText(at.score),
            at.traderId,
            chunk,
          )
        : await this.redis.zrange(key, 0, chunk - 1, 'WITHSCORES');
      const pairs: { traderId: string; score: number }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        pairs.push({ traderId: String(flat[i]), score: scoreOf(String(flat[i + 1])) });
      }
      const rows = await this.rows(pairs, window);
      for (const row of rows) {
        if (!passes(row, filter)) continue;
        items.push(row);
        if (items.length === limit) {
          const more = row !== rows[rows.length - 1] || pairs.length === chunk;
          return { items, next: more ? { score: row.score, traderId: row.traderId } : null };
        }
      }
      if (pairs.length < chunk) return { items, next: null };
      const last = pairs[pairs.length - 1] as { traderId: string; score: number };
      at = last;
    }
  }

  /** A listed lead's hash, or null. */
  async lead(traderId: string): Promise<{
    profile: LeadProfile;
    asOf: number;
    metrics: Record<WindowName, LeadMetrics>;
    nav: Record<WindowName, NavPoint[]>;
  } | null> {
    const h = await this.redis.hgetall(leadKey(this.prefix, traderId));
    if (!h.profile) return null;
    const metrics = {} as Record<WindowName, LeadMetrics>;
    const nav = {} as Record<WindowName, NavPoint[]>;
    for (const w of BOARD_WINDOWS) {
      metrics[w] = JSON.parse(h[`m:${w}`] ?? 'null');
      nav[w] = JSON.parse(h[`nav:${w}`] ?? '[]');
    }
    return { profile: JSON.parse(h.profile), asOf: Number(h.asOf), metrics, nav };
  }

  /** Every set of the board with its members and scores, and every lead hash: what a rebuild is compared with. */
  async dump(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const metric of BOARD_METRICS) {
      for (const w of BOARD_WINDOWS) {
        const key = boardSetKey(this.prefix, metric, w);
        out[key] = await this.redis.zrange(key, 0, -1, 'WITHSCORES');
      }
    }
    const ids = (await this.redis.smembers(leadsKey(this.prefix))).sort();
    out.leads = ids;
    for (const id of ids) out[leadKey(this.prefix, id)] = await this.redis.hgetall(leadKey(this.prefix, id));
    return out;
  }

  private async rows(
    pairs: readonly { traderId: string; score: number }[],
    window: WindowName,
  ): Promise<BoardRow[]> {
    if (pairs.length === 0) return [];
    const p = this.redis.pipeline();
    for (const { traderId } of pairs)
      p.hmget(leadKey(this.prefix, traderId), `m:${window}`, 'profile', `nav:${window}`);
    const replies = (await p.exec()) ?? [];
    const out: BoardRow[] = [];
    pairs.forEach((pair, i) => {
      const [err, values] = replies[i] ?? [];
      const [m, profile, nav] = (values ?? []) as (string | null)[];
      // a lead taken off between the two reads: left out
      if (err || !m || !profile) return;
      out.push({
        ...pair,
        metrics: JSON.parse(m),
        profile: JSON.parse(profile),
        nav: JSON.parse(nav ?? '[]'),
      });
    });
    return out;
  }
}
