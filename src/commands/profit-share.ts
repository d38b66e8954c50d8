import { parseArgs } from 'node:util';
import type { Run } from '../cli.js';
import { createExchangeClient } from '../clients/exchange.js';
import { cutoffOf } from '../copytrade/profit-share/operator-routes.js';
import type { StatementRow } from '../copytrade/profit-share/pair-store.js';
import { ProfitShare } from '../copytrade/profit-share/profit-share.js';
import { HttpError } from '../infra/http.js';
import { createPool } from '../infra/mysql/client.js';

const USAGE = `usage: tradeflow profit-share settle (--now | --cutoff ISO) [--json]
       tradeflow profit-share show --copier C --trader T [--json]`;

/**
 * `tradeflow profit-share settle --now`: every pair settled for the current period as if it
 * ended now (the period id periodOf(now): the ISO week, or the UTC date with
 * TF_PROFIT_SHARE_CYCLE=daily); `--cutoff`: for the period ending at that cut-off. Exit 1 if
 * a pair failed (it is named; running again finishes it), 2 for bad arguments.
 * `show`: a pair's statements, one line per period.
 */
export const run: Run = async (args, { config, log }) => {
  const [sub, ...rest] = args;
  let values: { now?: boolean; cutoff?: string; copier?: string; trader?: string; json?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        now: { type: 'boolean' },
        cutoff: { type: 'string' },
        copier: { type: 'string' },
        trader: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  let cutoff: number | undefined;
  if (sub === 'settle') {
    if (values.now === (values.cutoff !== undefined)) return usage('settle takes --now or --cutoff ISO');
    if (values.cutoff !== undefined) {
      try {
        cutoff = cutoffOf(values.cutoff, config.profitShareCycle);
      } catch (err) {
        return usage(err instanceof HttpError ? err.message : String(err));
      }
    }
  } else if (sub === 'show') {
    if (!values.copier || !values.trader) return usage('show takes --copier C --trader T');
  } else return usage(sub === undefined ? 'a subcommand is required' : `unknown subcommand ${sub}`);

  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 3 });
  const exchange = createExchangeClient(config.exchangeUrl, { timeoutMs: config.httpTimeoutMs });
  try {
    const service = new ProfitShare({ pool, exchange, cycle: config.profitShareCycle, log });
    if (sub === 'show') {
      const rows = await service.store.statements({ copierId: values.copier, traderId: values.trader });
      process.stdout.write(values.json ? `${JSON.stringify(rows)}\n` : table(rows));
      return 0;
    }
    const result =
      cutoff === undefined ? await service.settleNow(Date.now()) : await service.settleCycle(cutoff);
    process.stdout.write(
      values.json
        ? `${JSON.stringify(result)}\n`
        : `period ${result.period}: ${result.settled} settled, ${result.deferred} deferred (open), ${result.already} already settled, ${result.failed.length} failed; paid ${result.payout}, refunded ${result.refund} USDT\n${result.failed.map((f) => `  failed ${f.copierId}/${f.traderId}: ${f.error}\n`).join('')}`,
    );
    return result.failed.length > 0 ? 1 : 0;
  } finally {
    await Promise.allSettled([pool.end(), exchange.close()]);
  }
};

const COLUMNS = [
  'period',
  'status',
  'by',
  'cumulativePnl',
  'highWaterMark',
  'withheld',
  'paid',
  'refunded',
  'payout',
  'refund',
  'escrow',
] as const;

function table(rows: StatementRow[]): string {
  const lines = [COLUMNS.join('\t'), ...rows.map((r) => COLUMNS.map((c) => String(r[c])).join('\t'))];
  return `${lines.join('\n')}\n`;
}

function usage(problem: string): number {
  process.stderr.write(`tradeflow profit-share: ${problem}\n${USAGE}\n`);
  return 2;
}
