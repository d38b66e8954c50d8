import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RowDataPacket } from 'mysql2/promise';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';
import { assertLedgerClean, waitAllFinished } from '../support/settlement.js';

const INTERVAL = 300;
const WINDOW = 4000;
const GRACE = 200;
const LAG = 300;
const ROWS = 400;

describe('reconciler: incremental passes', () => {
  const world = new TestWorld();
  let metricsUrl = '';

  /** Rows the reconciler's listings returned so far, by look. */
  const listed = async (): Promise<{ recent: number; last: number }> => {
    const text = await (await fetch(metricsUrl)).text();
    const look = (name: string) =>
      Number(
        text.match(
          new RegExp(`^tradeflow_reconciler_rows_listed_total\\{look="${name}"\\} (\\d+)$`, 'm'),
        )?.[1] ?? 0,
      );
    return { recent: look('recent'), last: look('last') };
  };
  /** A counter row with an explicit id (below the poller's cursor, the poller never reads it). */
  const insert = (id: number, orderId: string, createdMs: number) =>
    world.counterDb.query(
      "INSERT INTO sync_order (id, order_id, shard, user_id, biz_type, flow, asset, qty, usdt, created_ms) VALUES (?, ?, 7, 'u1', 'OPTION_SWAP', 'OPEN', 'BTC', '0.01', '18', ?)",
      [id, orderId, createdMs],
    );
  const taken = async (orderId: string) => {
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT source, intake_ms - counter_created_ms AS late_ms FROM settlement_order WHERE order_id=? AND status='DONE'",
      [orderId],
    );
    return r[0] ? { source: String(r[0].source), lateMs: Number(r[0].late_ms) } : undefined;
  };

  before(async () => {
    // the poller takes every row in; the poller skips gaps at once, so a row below its cursor is the reconciler's
    await world.setUp({
      TF_SOURCE: 'poll',
      TF_POLL_GAP_WAIT_MS: '0',
      TF_RECONCILE_INTERVAL_MS: String(INTERVAL),
      TF_RECONCILE_WINDOW_MS: String(WINDOW),
      TF_RECONCILE_GRACE_MS: String(GRACE),
      TF_RECONCILE_LAG_MS: String(LAG),
    });
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await world.startSim();
    await world.startEngine({ TF_OPS_PORT: String(port) });
  });
  after(async () => {
    await world.tearDown();
  });

  it('lists each counter row a few times (recent looks, one last look), not window / interval times', async (t) => {
    const rows = makeCounterRows(ROWS, { flow: 'mixed', shards: 16, runId: 'inc' });
    await writeCounterRows(world.counterDb, rows, 80);
    await waitAllFinished(world.engineDb, ROWS, 30_000, 'inc-');
    // every row is past the last look's edge (our clock's t + grace + window), and no look reaches it again
    await sleep(GRACE + WINDOW + 3 * INTERVAL);
    const before = await listed();
    await sleep(3 * INTERVAL);
    const n = await listed();
    t.diagnostic(`rows listed per counter row: recent ${n.recent / ROWS}, last ${n.last / ROWS}`);
    assert.deepEqual(n, before, 'rows older than the window are still listed');
    // the whole-window listing: about WINDOW / INTERVAL (13) per row
    assert.equal(n.last, ROWS, 'each row gets exactly one last look');
    assert.ok(n.recent >= ROWS, `recent looks listed ${n.recent} rows of ${ROWS}`);
    assert.ok(
      n.recent <= ROWS * (1 + LAG / INTERVAL) * 1.1,
      `recent looks listed ${n.recent} rows of ${ROWS}`,
    );
    const [src] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM settlement_order WHERE order_id LIKE 'inc-%' AND source <> 'poll'",
    );
    assert.equal(Number(src[0]?.n), 0, 'the reconciler took in rows the poller had');
  });

  it('finds a row committed within grace + lag at once, and one committed later at its last look', async () => {
    await insert(100_000, 'inc-marker', Date.now()); // lifts the poller's cursor past the ids below
    await waitAllFinished(world.engineDb, 1, 20_000, 'inc-marker');
    const now = Date.now();
    await insert(90_001, 'inc-soon', now - (GRACE + LAG) / 2);
    await insert(90_002, 'inc-later', now - 4 * (GRACE + LAG));
    const soon = await waitFor('inc-soon taken in', () => taken('inc-soon'), 20_000);
    const later = await waitFor('inc-later taken in', () => taken('inc-later'), 20_000);
    assert.equal(soon?.source, 'reconciler');
    assert.ok(Number(soon?.lateMs) < WINDOW / 2, `inc-soon was found ${soon?.lateMs} ms after its time`);
    // no row lifts shard 7's watermark meanwhile: the last look moves on with the clock
    assert.equal(later?.source, 'reconciler');
    assert.ok(
      Number(later?.lateMs) >= WINDOW + GRACE,
      `inc-later was found ${later?.lateMs} ms after its time`,
    );
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });
});
