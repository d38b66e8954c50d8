import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { type Child, TestWorld, waitFor } from '../support/harness.js';
import { assertLedgerClean, assertStepsInOrder, waitAllFinished } from '../support/settlement.js';

describe('rolling restart of three engines while 2,000 orders settle', () => {
  const DRAIN_MS = 3000;
  const CLAIM_IDLE_MS = 2000;
  const world = new TestWorld();

  before(async () => {
    await world.setUp({
      TF_DRAIN_TIMEOUT_MS: String(DRAIN_MS),
      TF_CLAIM_IDLE_MS: String(CLAIM_IDLE_MS),
      TF_CLAIM_INTERVAL_MS: '200',
      TF_HTTP_TIMEOUT_MS: '1000',
      TF_COORDINATOR_TTL_MS: '1500',
    });
    await world.startSim({ '*': { latencyMs: 10, jitterMs: 10 } });
  });
  after(() => world.tearDown());

  it('each SIGTERMed process exits 0 within its drain deadline; all DONE, nothing twice, no step waited long', async () => {
    const engines: Child[] = [world.spawn(['start']), world.spawn(['start']), world.spawn(['start'])];
    await waitFor('three engines', async () => (await world.runningEngines()).length === 3);
    const loading = writeCounterRows(
      world.counterDb,
      makeCounterRows(2000, { flow: 'mixed', shards: 16, runId: 'rol' }),
      200,
    );
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 0; i < 3; i++) {
      const old = engines[i] as Child;
      const t0 = Date.now();
      old.kill('SIGTERM');
      const code = await old.exited;
      assert.equal(code, 0, `engine ${i} exited ${code}: ${old.stderr.slice(-500)}`);
      // the drain deadline, and a little for closing connections
      assert.ok(Date.now() - t0 < DRAIN_MS + 2000, `engine ${i} took ${Date.now() - t0} ms to stop`);
      engines.push(world.spawn(['start']));
      await waitFor('the replacement', async () => (await world.runningEngines()).length === 3);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await loading;
    await waitAllFinished(world.engineDb, 2000, 60_000, 'rol-');

    // from the previous step's end (or intake, for step 1) to the first attempt of a step
    const [waits] = await world.engineDb.query<RowDataPacket[]>(
      `SELECT s.order_id, s.step, MIN(s.started_ms) - COALESCE(p.finished_ms, o.intake_ms) AS wait_ms
         FROM settlement_step s
         JOIN settlement_order o ON o.order_id = s.order_id
         LEFT JOIN settlement_step p ON p.order_id = s.order_id AND p.step = s.step - 1 AND p.status = 'OK'
        WHERE s.order_id LIKE 'rol-%'
        GROUP BY s.order_id, s.step, p.finished_ms, o.intake_ms
        ORDER BY wait_ms DESC LIMIT 1`,
    );
    const worst = waits[0] as RowDataPacket;
    assert.ok(
      Number(worst.wait_ms) <= DRAIN_MS + CLAIM_IDLE_MS,
      `step ${worst.step} of ${worst.order_id} waited ${worst.wait_ms} ms`,
    );
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });
});
