import { parseArgs } from 'node:util';
import type { Run } from '../cli.js';
import { boardQuery } from '../copytrade/api/leaderboard-routes.js';
import type { LeadMetrics } from '../copytrade/domain/leaderboard.js';
import { BoardStore } from '../copytrade/leaderboard/board-store.js';
import { computeEntries } from '../copytrade/leaderboard/history.js';
import { HttpError } from '../infra/http.js';
import { createPool } from '../infra/mysql/client.js';
import { createRedis } from '../infra/redis.js';

/** The keys of one lead in `--json`, in this order and no others. */
const JSON_KEYS = [
  'traderId',
  'roi',
  'pnl',
  'winRate',
  'maxDrawdown',
  'sharpe',
  'aum',
  'copiers',
  'vacancy',
  'copiersPnl',
  'copyQuality',
] as const satisfies readonly (keyof LeadMetrics)[];

const USAGE =
  'usage: tradeflow leaderboard [--metric roi|pnl|winRate|maxDrawdown|sharpe|aum|copiers|copyQuality] [--window 7d|30d|90d] [--limit N] [--json] [--rebuild]';

/**
 * The board as the API gives it (the first --limit leads of --metric over --window, default
 * roi, 30d, 20). --rebuild first recomputes every lead from MySQL and replaces the board in
 * Redis at once (board-store.ts replace). --json: one JSON array, one object per lead.
 */
export const run: Run = async (args, { config }) => {
  let values: { metric?: string; window?: string; limit?: string; json?: boolean; rebuild?: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        metric: { type: 'string' },
        window: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean', default: false },
        rebuild: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`tradeflow leaderboard: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const query = new URLSearchParams();
  for (const name of ['metric', 'window', 'limit'] as const) {
    const v = values[name];
    if (v !== undefined) query.set(name, v);
  }
  let q: ReturnType<typeof boardQuery>;
  try {
    q = boardQuery(query);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    process.stderr.write(`tradeflow leaderboard: --${err.message}\n${USAGE}\n`);
    return 2;
  }
  const redis = createRedis(config.redisUrl, { name: 'tf-leaderboard' });
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 2 });
  try {
    const board = new BoardStore(redis, config.redisPrefix);
    if (values.rebuild) {
      const entries = await computeEntries(pool);
      await board.replace(entries);
      process.stderr.write(
        `leaderboard rebuilt from MySQL: ${entries.filter((e) => e.listed).length} listed of ${entries.length} leads\n`,
      );
    }
    const page = await board.page(q.metric, q.window, q.limit, null);
    if (values.json) {
      const rows = page.items.map((r) => Object.fromEntries(JSON_KEYS.map((k) => [k, r.metrics[k]])));
      process.stdout.write(`${JSON.stringify(rows)}\n`);
      return 0;
    }
    process.stdout.write(`# by ${q.metric} over ${q.window}\n`);
    process.stdout.write(
      'rank\ttrader\troi\tpnl\twinRate\tmaxDrawdown\tsharpe\taum\tcopiers\tvacancy\tcopiersPnl\troiRatio\tslippageBps\n',
    );
    page.items.forEach((r, i) => {
      const m = r.metrics;
      const cells = [
        i + 1,
        m.traderId,
        m.roi,
        m.pnl,
        m.winRate,
        m.maxDrawdown,
        m.sharpe,
        m.aum,
        m.copiers,
        m.vacancy,
        m.copiersPnl,
        m.copyQuality.roiRatio,
        m.copyQuality.entrySlippageBps,
      ];
      process.stdout.write(`${cells.map((c) => (c === null ? '-' : String(c))).join('\t')}\n`);
    });
    return 0;
  } finally {
    redis.disconnect();
    await pool.end();
  }
};
