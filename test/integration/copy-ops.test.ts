import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';
import { promtoolProblems } from '../support/promtool.js';

/** A metric's value in a Prometheus text exposition (the sample with exactly these labels). */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('copy engine: /metrics, /healthz and /readyz of the holder and of a standby', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let ingressPort: number;
  let holderOps: number;
  let trader: { traderId: string; apiKey: string; secret: string };
  const get = async (port: number, path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };

  before(async () => {
    ingressPort = await freePort();
    holderOps = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(ingressPort) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    await seedCopiers(world.copyRows(), exchange, [
      ...Array.from({ length: 8 }, (_, i) => ({ follow: follow(`c${i}`, 'lead1'), usdt: '10000' })),
      ...Array.from({ length: 2 }, (_, i) => ({ follow: follow(`p${i}`, 'lead1'), usdt: '1' })),
    ]);
    world.spawn(['copy'], { TF_COPY_OPS_PORT: String(holderOps) });
  });
  after(async () => {
    await exchange?.close();
    await world.tearDown();
  });

  it('the holder counts what it fanned out, by outcome, status and reason, and its latency', async () => {
    const socket = await waitFor('the signal ingress', () =>
      TraderSocket.open(ingressPort, trader.apiKey, trader.secret),
    );
    try {
      const price = (await exchange.price(INSTRUMENT)).price;
      const signal = signalOf('lead1', { signalId: 'm1', price });
      assert.equal((await socket.send(signal)).type, 'ack');
      await waitFor('m1 fanned out', () => fannedOut(world.engineDb, 'm1@lead1'));
    } finally {
      socket.close();
    }
    const { status, body } = await waitFor('the histogram', async () => {
      const r = await get(holderOps, '/metrics');
      return sample(r.body, 'tradeflow_copy_fanout_duration_seconds_count') === 1 ? r : undefined;
    });
    assert.equal(status, 200);
    assert.equal(sample(body, 'tradeflow_copy_signals_total', 'outcome="copied"'), 1);
    assert.equal(sample(body, 'tradeflow_copy_orders_total', 'status="FILLED"'), 8);
    const skipped = body.split('\n').filter((l) => l.startsWith('tradeflow_copy_skips_total{'));
    assert.equal(
      skipped.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0),
      2,
      skipped.join('\n'),
    );
    assert.equal(sample(body, 'tradeflow_copy_book_leads'), 1);
    assert.equal(sample(body, 'tradeflow_copy_book_follows'), 10);
    assert.equal(sample(body, 'tradeflow_copy_book_copiers'), 10);
    assert.equal(sample(body, 'tradeflow_copy_stream_lag'), 0);
    assert.equal(sample(body, 'tradeflow_copy_stream_pending'), 0);
    assert.ok((sample(body, 'tradeflow_copy_role_token') ?? 0) > 0);
    assert.equal(sample(body, 'tradeflow_unhandled_rejections_total'), 0);
    assert.deepEqual(promtoolProblems(body), []);
    assert.deepEqual(await get(holderOps, '/readyz'), { status: 200, body: 'ready\n' });
    assert.deepEqual(await get(holderOps, '/healthz'), { status: 200, body: 'ok\n' });
  });

  it('a standby is healthy but not ready, with no token and no book', async () => {
    const standbyOps = await freePort();
    world.spawn(['copy'], { TF_COPY_OPS_PORT: String(standbyOps) });
    const ready = await waitFor('the standby to answer', () =>
      get(standbyOps, '/readyz').catch(() => undefined),
    );
    assert.deepEqual(ready, { status: 503, body: 'not ready: standby: waiting for the fan-out role\n' });
    assert.equal((await get(standbyOps, '/healthz')).status, 200);
    const { body } = await get(standbyOps, '/metrics');
    assert.equal(sample(body, 'tradeflow_copy_role_token'), 0);
    assert.equal(sample(body, 'tradeflow_copy_book_copiers'), 0);
    assert.deepEqual(promtoolProblems(body), []);
  });
});
