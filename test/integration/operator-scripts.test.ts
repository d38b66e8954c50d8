import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
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
});
