import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { freePort, MYSQL_URL, TestWorld, waitFor } from '../support/harness.js';
import { promtoolProblems } from '../support/promtool.js';
import { waitAllFinished } from '../support/settlement.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** Sum of a metric's samples whose labels contain `match`. */
function sample(text: string, name: string, match = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && line.includes(match) && !line.startsWith('#'))
      sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

describe('engine /metrics, /healthz and /readyz', () => {
  const world = new TestWorld();
  const mysqlUrl = new URL(MYSQL_URL);
  const proxy = new TcpProxy(mysqlUrl.hostname, Number(mysqlUrl.port || 3306));
  let base = '';

  before(async () => {
    await world.setUp();
    await proxy.open();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await world.startSim({ '*': { latencyMs: 5, jitterMs: 5 } });
    // the engine reaches MySQL through the proxy, so the test can take MySQL away from it alone
    await world.startEngine({
      TF_OPS_PORT: String(port),
      TF_MYSQL_URL: `mysql://root@127.0.0.1:${proxy.port}`,
      TF_STEP_CONCURRENCY: '4',
    });
  });
  after(async () => {
    await proxy.cut();
    await world.tearDown();
  });

  it('shows step histograms, lags and intake moving during a run', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const rows = makeCounterRows(300, { flow: 'mixed', shards: 16, runId: 'met' });
    await writeCounterRows(world.counterDb, rows);
    const during = await waitFor('a run under way', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return sample(text, 'tradeflow_step_duration_seconds_count') > 0 &&
        sample(text, 'tradeflow_stream_lag') > 0
        ? text
        : undefined;
    });
    await waitAllFinished(world.engineDb, 300, 60_000, 'met-');
    // a step is counted just after its commit: the last ones may trail the DONE rows by a moment
    const end = await waitFor('the last steps counted', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return sample(text, 'tradeflow_settlement_duration_seconds_count') >= 300 ? text : undefined;
    });
    assert.equal(sample(end, 'tradeflow_step_duration_seconds_count', 'status="OK"'), 1200);
    assert.ok(
      sample(end, 'tradeflow_step_duration_seconds_count') >
        sample(during, 'tradeflow_step_duration_seconds_count'),
    );
    assert.equal(sample(end, 'tradeflow_settlement_duration_seconds_count'), 300);
    assert.equal(sample(end, 'tradeflow_intake_orders_total', 'source="poll"'), 300);
    assert.equal(sample(end, 'tradeflow_stream_lag'), 0);
    assert.equal(sample(end, 'tradeflow_orders_manual'), 0);
    // the only engine holds the coordinator role, under the token MySQL has as the latest
    const [fence] = await world.engineDb.query<RowDataPacket[]>('SELECT token FROM coordinator_fence');
    assert.ok(Number(fence[0]?.token) > 0);
    assert.equal(sample(end, 'tradeflow_coordinator_token'), Number(fence[0]?.token));
  });

  it('/metrics passes `promtool check metrics` (names in base units, help and types)', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /tradeflow_settlement_duration_seconds_bucket/, 'a run has filled the histograms');
    assert.deepEqual(promtoolProblems(text), []);
  });

  it('/readyz fails while MySQL is unreachable and recovers after', async () => {
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    await proxy.cut();
    const down = await waitFor('not ready', async () => {
      const r = await fetch(`${base}/readyz`);
      return r.status === 503 ? await r.text() : undefined;
    });
    assert.match(down, /mysql/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200, 'alive all the same');
    await proxy.open();
    await waitFor('ready again', async () => (await fetch(`${base}/readyz`)).status === 200, 30_000);
  });
});
