/**
 * npx tsx scripts/reprocess-stream.ts --step N [--from-id ID] [--to-id ID] [--since T] [--until T]
 *   [--limit N] [--json] [--apply]
 *
 * Reprocesses a range of a step's stream into that step. Acknowledged entries are deleted,
 * so the range is read from MySQL: the orders waiting for step N whose current attempt
 * became due in the range (a stream id's ms part is a time), plus those of the entries still
 * in the stream there. Each one with no live entry left is redriven as the recovery scan
 * does; one already queued, pending with a consumer (claimed once idle) or waiting for a
 * BullMQ retry is left as it is, and orders past the step, DONE or MANUAL are skipped with
 * the reason. A dry run (the default) changes nothing; running --apply twice adds nothing
 * the second time: the first run's entries are then queued.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/infra/mysql/client.js';
import { createRedis } from '../src/infra/redis.js';
import { isStep } from '../src/settlement/domain/flows.js';
import { type Range, rangeOfIds, rangeOfTimes } from '../src/settlement/domain/reprocess-plan.js';
import { streamKey } from '../src/settlement/domain/streams.js';
import { type ReportLine, reprocessStep, type Summary } from '../src/settlement/ops/reprocess.js';

const USAGE =
  'usage: npx tsx scripts/reprocess-stream.ts --step N [--from-id ID] [--to-id ID] [--since T] [--until T]\n' +
  '         [--limit N] [--json] [--apply]\n' +
  '  ID: a stream id, ms or ms-seq; T: an ISO time or ms since the epoch; ids and times do not mix\n' +
  '  --limit: redrive at most N orders (default 1000); without --apply nothing is changed\n';

const { values } = parseArgs({
  options: {
    step: { type: 'string' },
    'from-id': { type: 'string' },
    'to-id': { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
    apply: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const fail: (why: string) => never = (why) => {
  process.stderr.write(`${why}\n${USAGE}`);
  process.exit(2);
};
const step = Number(values.step);
if (!isStep(step)) fail('--step: expected 1, 2, 3 or 4');
const limit = Number(values.limit);
if (!Number.isInteger(limit) || limit < 0) fail('--limit: expected a whole number');
const time = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isNaN(ms) ? fail(`not a time: ${v}`) : ms;
};
const byIds = values['from-id'] !== undefined || values['to-id'] !== undefined;
if (byIds && (values.since !== undefined || values.until !== undefined)) fail('give ids or times, not both');
let range: Range;
try {
  range = byIds
    ? rangeOfIds(values['from-id'], values['to-id'])
    : rangeOfTimes(time(values.since), time(values.until));
} catch (err) {
  range = fail((err as Error).message);
}

const config = loadConfig();
const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
const redis = createRedis(config.redisUrl);
const out = (s: string) => process.stdout.write(`${s}\n`);
try {
  const summary = await reprocessStep(
    pool,
    redis,
    config.redisPrefix,
    { step, range, apply: values.apply, limit },
    (line) => out(values.json ? JSON.stringify(line) : describe(line)),
  );
  out(values.json ? JSON.stringify({ summary }) : conclude(summary, streamKey(config.redisPrefix, step)));
} finally {
  await pool.end();
  redis.disconnect();
}

function describe(l: ReportLine): string {
  switch (l.action) {
    case 'would-redrive':
    case 'redriven': {
      const verb = l.action === 'redriven' ? 'redrove' : 'would redrive';
      const orphans = l.replacedOrphans.length ? `, replacing orphaned ${l.replacedOrphans.join(' ')}` : '';
      return `${verb} ${l.orderId} into step ${step}, attempt ${l.attempt} (due since ${l.dueSince}${orphans})`;
    }
    case 'queued':
      return `already queued ${l.orderId}: entry ${l.entry}, attempt ${l.attempt}`;
    case 'pending':
      return `pending ${l.orderId}: entry ${l.entry} with consumer ${l.consumer}, idle ${l.idleMs} ms (claimed once idle past TF_CLAIM_IDLE_MS)`;
    case 'scheduled':
      return `scheduled ${l.orderId}: the retry of attempt ${l.attempt} is ${l.jobState} in BullMQ`;
    case 'skipped':
      return `skipped ${l.orderId}: ${l.reason}`;
    case 'malformed':
      return `malformed entry ${l.entry}: ${l.reason}`;
  }
}

function conclude(s: Summary, key: string): string {
  const e = s.entries;
  const entries = `${key}: ${e.inRange} entries in the range (${e.queued} queued, ${e.pending} pending, ${e.orphaned} orphaned, ${e.stale} stale, ${e.malformed} malformed)`;
  const rest = `${s.queued} already queued, ${s.pending} pending, ${s.scheduled} scheduled, ${s.skipped} skipped`;
  return s.dryRun
    ? `${entries}\n${s.redriven} would be redriven, ${rest} (dry run; --apply to act)`
    : `${entries}\n${s.redriven} redriven, ${rest}`;
}
