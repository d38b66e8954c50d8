import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { deadLetter } from '../../src/infra/dead-letter.js';
import { createRedis } from '../../src/infra/redis.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { intakeDeadLetterKey } from '../../src/settlement/intake/kafka-intake.js';
import { canal, row } from '../support/canal-samples.js';
import { TestWorld, waitFor } from '../support/harness.js';
import { statusCounts, waitAllFinished } from '../support/settlement.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('operator scripts', () => {
  const world = new TestWorld();
  let admin: SimAdmin;
  const script = (name: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...world.env },
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const manualState = async () => {
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT order_id, status, attempt FROM settlement_order WHERE order_id LIKE 'ops-%' ORDER BY order_id",
    );
    return r.map((x) => [x.order_id, x.status, x.attempt]);
  };

  before(async () => {
    await world.setUp();
    admin = await world.startSim({ 'trade/market': { rejectRate: 1, rejectCode: 'INSUFFICIENT_BALANCE' } });
    await world.startEngine();
    await writeCounterRows(world.counterDb, makeCounterRows(3, { flow: 'open', shards: 16, runId: 'ops' }));
    await waitFor(
      '3 parked orders',
      async () => (await statusCounts(world.engineDb, 'ops-')).MANUAL === 3,
      20_000,
    );
  });
  after(() => world.tearDown());

  it('retry-manual: a dry run lists and changes nothing; --apply retries once; a second --apply finds nothing', async () => {
    assert.match(script('retry-manual', '--help'), /--apply/);
    const before = await manualState();
    const dry = script('retry-manual', '--code', 'INSUFFICIENT_BALANCE');
    assert.equal(dry.match(/^would retry ops-\d from step 3 \(INSUFFICIENT_BALANCE\)$/gm)?.length, 3, dry);
    assert.match(dry, /3 would be retried \(dry run/);
    assert.match(script('retry-manual', '--code', 'RATE_LIMITED'), /^0 would be retried/m);
    assert.match(script('retry-manual', '--until', '2000-01-01T00:00:00Z'), /^0 would be retried/m);
    assert.deepEqual(await manualState(), before, 'the dry run changed something');

    await admin.setFaults({});
    const applied = script('retry-manual', '--code', 'INSUFFICIENT_BALANCE', '--apply');
    assert.match(applied, /3 of 3 retried/);
    await waitAllFinished(world.engineDb, 3, 20_000, 'ops-');
    assert.match(script('retry-manual', '--apply'), /0 of 0 retried/);
    assert.deepEqual(
      (await manualState()).map(([, status, attempt]) => [status, attempt]),
      [
        ['DONE', 1],
        ['DONE', 1],
        ['DONE', 1],
      ],
    );
  });

  it("order-timeline shows an order's attempts, errors and latencies", () => {
    const text = script('order-timeline', 'ops-0');
    assert.match(text, /step 3 attempt 1: FAILED in \d+ ms {2}INSUFFICIENT_BALANCE/);
    assert.match(text, /step 3 attempt 2: OK/);
    assert.match(text, /step 4 attempt 1: OK/);
    assert.match(text, /DONE$/m);
    const json = JSON.parse(script('order-timeline', 'ops-0', '--json'));
    assert.equal(json.order.status, 'DONE');
    assert.equal(json.steps.length, 5);
  });

  it('redrive-dead-letters: a dry run changes nothing; --apply takes in what now decodes and keeps the rest', async () => {
    const key = intakeDeadLetterKey(world.config.redisPrefix);
    const good = canal('INSERT', [row('dl', { order_id: 'ops-dl', created_ms: String(Date.now()) })]).replace(
      '"tradeflow_counter"',
      JSON.stringify(world.config.counterDb),
    );
    const redis = createRedis(world.config.redisUrl);
    try {
      const source = (offset: number) => `kafka:counter.sync_order/0/${offset}`;
      await deadLetter(redis, key, { source: source(7), reason: 'old decoder bug', entry: good });
      await deadLetter(redis, key, { source: source(8), reason: 'not JSON', entry: 'garbage' });
      assert.match(script('redrive-dead-letters', '--help'), /--apply/);
      const dry = script('redrive-dead-letters');
      assert.match(dry, /counter.sync_order\/0\/7: would yield 1 order/);
      assert.match(dry, /counter.sync_order\/0\/8: still dead: not JSON/);
      assert.equal(await redis.xlen(key), 2);
      assert.equal(
        (await statusCounts(world.engineDb, 'ops-dl')).DONE +
          (await statusCounts(world.engineDb, 'ops-dl')).RUNNING,
        0,
      );

      assert.match(script('redrive-dead-letters', '--apply'), /1 of 2 dead letters redriven/);
      assert.equal(await redis.xlen(key), 1);
      await waitAllFinished(world.engineDb, 1, 20_000, 'ops-dl');
      assert.match(script('redrive-dead-letters', '--apply'), /0 of 1 dead letters redriven/);
    } finally {
      redis.disconnect();
    }
  });
});
