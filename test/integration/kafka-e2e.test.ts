import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { type CdcChain, startCdcChain } from '../infra/cdc-chain.js';
import { type Child, TestWorld, waitFor } from '../support/harness.js';
import { assertLedgerClean, waitAllFinished } from '../support/settlement.js';

/**
 * The production intake path, all of it real: `tradeflow load` commits rows into a counter
 * MariaDB with a ROW binlog, Canal 1.1.4 sends them as flat messages to Kafka 4.4.0, the
 * engine (TF_SOURCE=kafka) takes them in and settles them against the simulator.
 */
describe('end to end: counter binlog → Canal → Kafka → tradeflow → DONE', () => {
  const world = new TestWorld();
  let chain: CdcChain | undefined;
  let engine: Child | undefined;

  const load = async (orders: number, rate: number) => {
    const r = await world.run(['load', '--orders', String(orders), '--rate', String(rate)]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    return { swaps: Number(out.swapOrders), prefix: String(out.firstOrderId).replace(/-\d+$/, '-') };
  };
  const sources = async (prefix: string) => {
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT source, COUNT(*) AS n FROM settlement_order WHERE order_id LIKE ? GROUP BY source ORDER BY source',
      [`${prefix}%`],
    );
    return Object.fromEntries(r.map((x) => [x.source as string, Number(x.n)]));
  };
  const restartEngine = async (env: Record<string, string>) => {
    if (engine) {
      engine.kill('SIGTERM');
      await engine.exited;
    }
    engine = await world.startEngine({ TF_SOURCE: 'kafka', ...env });
  };

  before(async () => {
    chain = await startCdcChain();
    await world.setUp(chain.env);
    await world.startSim();
  });
  after(async () => {
    await world.tearDown();
    await chain?.stop();
  });

  it('settles what the counter commits, through its binlog, Canal and Kafka only', async () => {
    // no reconciler pass after the first: only the binlog can bring these orders
    await restartEngine({ TF_RECONCILE_INTERVAL_MS: '3600000' });
    const { swaps, prefix } = await load(300, 300);
    await waitAllFinished(world.engineDb, swaps, 90_000, prefix);
    assert.deepEqual(await sources(prefix), { kafka: swaps });
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });

  it('loses nothing when Canal is killed with -9 mid-run and restarted (its position, then the reconciler)', async () => {
    assert.ok(chain);
    await restartEngine({ TF_RECONCILE_INTERVAL_MS: '1000', TF_RECONCILE_GRACE_MS: '500' });
    const total = async () => Object.values(await sources('')).reduce((a, b) => a + b, 0);
    const before = await total();
    const loading = load(600, 300);
    await waitFor('the first 100 orders of the run', async () => (await total()) > before + 100, 60_000, 20);
    await chain.canal.kill();
    const atKill = (await total()) - before;
    const { swaps, prefix } = await loading;
    assert.ok(atKill < swaps, 'every order was in before the kill: it tested nothing');
    await chain.canal.start();
    await waitAllFinished(world.engineDb, swaps, 120_000, prefix);
    const bySource = await sources(prefix);
    assert.equal(
      Object.values(bySource).reduce((a, b) => a + b, 0),
      swaps,
    );
    console.log(`after the Canal kill: ${JSON.stringify(bySource)} (${atKill} of ${swaps} in at the kill)`);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });
});
