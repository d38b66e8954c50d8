import { parseArgs } from 'node:util';
import type { Run } from '../cli.js';
import { DriftStore } from '../copytrade/drift/drift-store.js';
import { createPool } from '../infra/mysql/client.js';

const USAGE = 'usage: tradeflow copy drift [--json]';

/**
 * What drift repair could not repair, still open (copy_drift): missed opens whose price had
 * moved past the copier's bound, positions the copier's slices do not add up to. Oldest
 * first; --json: one JSON array of {copierId, driftKey, kind, traderId, instrument, side,
 * sliceQty, exchangeQty, detail, firstMs, lastMs}. Read-only.
 */
export const run: Run = async (args, { config }) => {
  let json: boolean;
  try {
    json = parseArgs({ args, options: { json: { type: 'boolean', default: false } } }).values.json === true;
  } catch (err) {
    process.stderr.write(`tradeflow copy drift: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
  try {
    const reports = await new DriftStore(pool).open();
    if (json) {
      process.stdout.write(`${JSON.stringify(reports)}\n`);
      return 0;
    }
    process.stdout.write(`${reports.length} unrepaired\n`);
    if (reports.length === 0) return 0;
    process.stdout.write('since\tcopier\tkind\ttrader\tinstrument\tside\tslices\texchange\tdetail\n');
    for (const r of reports) {
      const cells = [
        new Date(r.firstMs).toISOString(),
        r.copierId,
        r.kind,
        r.traderId ?? '-',
        r.instrument,
        r.side,
        r.sliceQty ?? '-',
        r.exchangeQty ?? '-',
        r.detail,
      ];
      process.stdout.write(`${cells.join('\t')}\n`);
    }
    return 0;
  } finally {
    await pool.end();
  }
};
