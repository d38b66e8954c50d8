import { parseArgs } from 'node:util';
import type { Run } from '../cli.js';
import { createPool } from '../infra/mysql/client.js';
import { ledgerCheck } from '../settlement/ops/ledger-report.js';

export const run: Run = async (args, { config }) => {
  const { values } = parseArgs({
    args,
    options: {
      check: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      prefix: { type: 'string', default: '' },
    },
  });
  if (!values.check) throw new Error('usage: tradeflow ledger --check [--json] [--prefix ORDER_ID_PREFIX]');
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
  try {
    const result = await ledgerCheck(config.counterUrl, pool, values.prefix);
    process.stdout.write(
      values.json
        ? `${JSON.stringify(result)}\n`
        : `${Object.entries(result)
            .map(([k, v]) => `${k}\t${v}`)
            .join('\n')}\n`,
    );
    return result.ok ? 0 : 1;
  } finally {
    await pool.end();
  }
};
