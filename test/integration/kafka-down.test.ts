import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { type Child, freePort, TestWorld, waitFor } from '../support/harness.js';
import { promtoolProblems } from '../support/promtool.js';
import { assertLedgerClean, waitAllFinished } from '../support/settlement.js';

describe('engine with TF_SOURCE=kafka while no broker answers', () => {
  const world = new TestWorld();
  let brokerPort = 0;
  let ops = '';
  let engine: Child;
  let listener: Server | null = null;
  const sockets = new Set<Socket>();

  before(async () => {
    brokerPort = await freePort();
    const opsPort = await freePort();
    ops = `http://127.0.0.1:${opsPort}`;
    await world.setUp({
      TF_SOURCE: 'kafka',
      TF_KAFKA_BROKERS: `127.0.0.1:${brokerPort}`,
      TF_KAFKA_RECONNECT_MAX_MS: '1000',
      TF_RECONCILE_INTERVAL_MS: '500',
      TF_RECONCILE_GRACE_MS: '200',
    });
    await world.startSim();
    engine = await world.startEngine({ TF_OPS_PORT: String(opsPort) });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => (listener ? listener.close(r) : r(undefined)));
    await world.tearDown();
  });

  it('settles what the counter writes, through the reconciler', async () => {
    const rows = makeCounterRows(20, { flow: 'mixed', shards: 16, runId: 'kd' });
    await writeCounterRows(world.counterDb, rows);
    await waitAllFinished(world.engineDb, 20, 30_000, 'kd-');
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT source, COUNT(*) AS n FROM settlement_order WHERE order_id LIKE 'kd-%' GROUP BY source",
    );
    assert.deepEqual(
      r.map((x) => [x.source, Number(x.n)]),
      [['reconciler', 20]],
    );
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });

  it('says in /readyz (still 200: it settles) and in /metrics that its Kafka source is down', async () => {
    const body = await waitFor(
      'the first connection attempt to fail',
      async () => {
        const r = await fetch(`${ops}/readyz`);
        assert.equal(r.status, 200);
        const text = await r.text();
        return /ECONNREFUSED/.test(text) ? text : undefined;
      },
      40_000,
      250,
    );
    assert.match(body, /^ready\n/);
    assert.match(body, /^kafka source: down \(.*ECONNREFUSED.*\)$/m);
    const metrics = await (await fetch(`${ops}/metrics`)).text();
    assert.match(metrics, /^tradeflow_kafka_source_up 0$/m);
    assert.deepEqual(promtoolProblems(metrics), []);
  });

  it('keeps trying to connect, with back-off: a listener that appears on the port is reached', async () => {
    let connections = 0;
    listener = createServer((s) => {
      connections++;
      sockets.add(s);
      // not a Kafka broker: the client gives up on it and tries again
      s.destroy();
    });
    await new Promise<void>((r) => listener?.listen(brokerPort, '127.0.0.1', r));
    await waitFor('two connection attempts', async () => connections >= 2, 40_000);
  });

  it('stops at once on SIGTERM while reconnecting', async () => {
    const t0 = Date.now();
    engine.kill('SIGTERM');
    const code = await Promise.race([
      engine.exited,
      new Promise<string>((r) => setTimeout(() => r('still running'), 8000).unref()),
    ]);
    assert.equal(code, 0, `after SIGTERM: ${code} (${Date.now() - t0} ms)`);
  });
});
