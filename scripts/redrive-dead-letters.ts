/**
 * npx tsx scripts/redrive-dead-letters.ts [--format canal|debezium] [--limit N] [--apply]
 *
 * Decodes the intake dead letters again (after a decoder fix, say). A dry run (the default)
 * prints what each would now yield and changes nothing; --apply takes the orders in through
 * the one intake path and deletes the dead letters that now decode. Entries that still do
 * not decode stay. Running it twice is harmless: intake absorbs a repeated order.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { readDeadLetters } from '../src/infra/dead-letter.js';
import { createPool } from '../src/infra/mysql/client.js';
import { createRedis } from '../src/infra/redis.js';
import { type CdcFormat, decoderFor } from '../src/settlement/intake/decode/decoder.js';
import { Intake } from '../src/settlement/intake/intake.js';
import { intakeDeadLetterKey } from '../src/settlement/intake/kafka-intake.js';

const config = loadConfig();
const { values } = parseArgs({
  options: {
    format: { type: 'string', default: config.cdcFormat },
    limit: { type: 'string', default: '1000' },
    apply: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npx tsx scripts/redrive-dead-letters.ts [--format canal|debezium] [--limit N] [--apply]\n' +
      '  without --apply nothing is changed\n',
  );
  process.exit(0);
}
const decode = decoderFor(values.format as CdcFormat, config);
const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
const redis = createRedis(config.redisUrl);
const key = intakeDeadLetterKey(config.redisPrefix);
try {
  const entries = await readDeadLetters(redis, key, Number(values.limit));
  const intake = new Intake(pool, redis, config.redisPrefix);
  let fixed = 0;
  for (const letter of entries) {
    // a tombstone (null message) was kept as an empty entry
    const d = decode(letter.entry.length === 0 ? null : letter.entry);
    if (d.kind === 'dead') {
      process.stdout.write(`${letter.source}: still dead: ${d.reason}\n`);
      continue;
    }
    fixed++;
    const what = `${d.orders.length} order(s), ${d.ignored.length} ignored, ${d.rejected.length} rejected`;
    if (!values.apply) {
      process.stdout.write(`${letter.source}: would yield ${what}\n`);
      continue;
    }
    await intake.reject(
      d.rejected.map((r, j) => ({
        sourceRef: `${letter.source}#${j}`,
        orderId: r.orderId,
        reason: r.reason,
        raw: letter.entry.toString('utf8'),
      })),
      'redrive',
    );
    await intake.takeIn(d.orders, 'redrive');
    await redis.xdel(key, letter.id);
    process.stdout.write(`${letter.source}: took in ${what}\n`);
  }
  process.stdout.write(
    values.apply
      ? `${fixed} of ${entries.length} dead letters redriven\n`
      : `${fixed} of ${entries.length} would be redriven (dry run; --apply to act)\n`,
  );
} finally {
  await pool.end();
  redis.disconnect();
}
