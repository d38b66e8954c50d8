import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { SWAP_BIZ_TYPE } from '../../src/settlement/domain/order.js';
import { type Child, TestWorld } from '../support/harness.js';
import { assertLedgerClean, assertStepsInOrder, waitAllFinished } from '../support/settlement.js';

describe('settlement, end to end on the real MariaDB and Redis', () => {
  const world = new TestWorld();
  let engine: Child;

  before(async () => {
    await world.setUp();
    await world.startSim();
    engine = world.spawn(['start']);
  });
  after(() => world.tearDown());

  it('settles 1,000 mixed orders, ignores other rows, rejects malformed ones and goes on', async () => {
    const rows = makeCounterRows(1050, { flow: 'mixed', shards: 16, otherBizRate: 0.05, runId: 'hap' });
    const swaps = rows.filter((r) => r.bizType === SWAP_BIZ_TYPE);
    const malformed = [
      {
        orderId: 'bad-asset',
        shard: 1,
        userId: 'u1',
        bizType: SWAP_BIZ_TYPE,
        flow: 'OPEN',
        asset: 'DOGE',
        qty: '1',
        usdt: '5',
      },
      {
        orderId: 'bad-qty',
        shard: 1,
        userId: 'u1',
        bizType: SWAP_BIZ_TYPE,
        flow: 'CLOSE',
        asset: 'BTC',
        qty: null,
        usdt: null,
      },
    ];
    // the malformed rows sit in the middle of the stream of rows: intake must go on past them
    await writeCounterRows(world.counterDb, [...rows.slice(0, 500), ...malformed, ...rows.slice(500)], 2000);

    const counts = await waitAllFinished(world.engineDb, swaps.length, 90_000);
    assert.ok(swaps.length >= 950, `expected about 1,000 swap orders, got ${swaps.length}`);
    assert.deepEqual(counts, { RUNNING: 0, DONE: swaps.length, MANUAL: 0 });

    const [rejected] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT order_id, reason FROM intake_rejection ORDER BY order_id',
    );
    assert.deepEqual(
      rejected.map((r) => [r.order_id, r.reason]),
      [
        ['bad-asset', 'asset must be BTC or ETH, got "DOGE"'],
        ['bad-qty', 'qty is missing'],
      ],
    );
    const [others] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM settlement_order WHERE order_id IN (?)',
      [rows.filter((r) => r.bizType !== SWAP_BIZ_TYPE).map((r) => r.orderId)],
    );
    assert.equal(Number(others[0]?.n), 0, 'a row that is not an option swap was taken in');

    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb, { sequential: true });
  });

  it('operator commands report the same counts and a clean ledger', async () => {
    const summary = await world.run(['orders', '--summary', '--json']);
    assert.equal(summary.code, 0, summary.stderr);
    const s = JSON.parse(summary.stdout);
    assert.equal(s.MANUAL, 0);
    assert.equal(s.RUNNING, 0);
    assert.equal(s.total, s.DONE);
    const ledger = await world.run(['ledger', '--check', '--json']);
    assert.equal(ledger.code, 0, ledger.stderr);
    const l = JSON.parse(ledger.stdout);
    assert.equal(l.conserved, true);
    assert.equal(l.doubleEffects, 0);
    assert.equal(l.ordersSeen, s.DONE);
  });

  it('the engine drains on SIGTERM and exits 0', async () => {
    engine.kill('SIGTERM');
    assert.equal(await engine.exited, 0);
  });
});
