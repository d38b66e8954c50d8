import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { connectRedis, scanKeys } from '../../src/infra/redis.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { freePort, REDIS_URL, TestWorld, waitFor } from '../support/harness.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { assertLedgerClean, assertStepsInOrder, waitAllFinished } from '../support/settlement.js';

const N = 300;

describe('on a Redis Cluster of three masters: settlement (BullMQ retries, the role lock) and the copy fan-out', () => {
  const cluster = new RedisCluster();
  const world = new TestWorld();
  let exchange: ExchangeClient | undefined;

  before(async () => {
    await cluster.start(3);
    await world.setUp({
      TF_REDIS_URL: cluster.url,
      // a hash tag: every key of this world in one slot (commands over several keys need it)
      TF_REDIS_PREFIX: `{tfc${world.id}}`,
      // retries through BullMQ's delayed jobs, until they succeed
      TF_RETRY_BASE_MS: '20',
      TF_RETRY_MAX_MS: '200',
      TF_RETRY_MAX_ATTEMPTS: '1000',
      TF_COORDINATOR_TTL_MS: '2000',
    });
    await world.startSim({ 'funding/transfer': { errorRate: 0.3 } });
  });
  after(async () => {
    await exchange?.close();
    // the world's connections go to the cluster: closed before it stops
    await world.tearDown();
    await cluster.stop();
  });

  const fence = async () => {
    const [rows] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT token, holder FROM coordinator_fence WHERE name='settlement'",
    );
    return rows[0] as { token: number; holder: string } | undefined;
  };

  it('two engines; the coordinator killed mid-intake, the other takes the role; all DONE once, retries included', async () => {
    const first = await world.startEngine();
    const second = await world.startEngine();
    const holder = await waitFor('a coordinator', fence);
    const [killed, survivor] = holder.holder.includes(`-${first.proc.pid}-`)
      ? [first, second]
      : [second, first];
    assert.ok(holder.holder.includes(`-${killed.proc.pid}-`), `holder ${holder.holder} is neither engine`);
    // taken in while the holder dies: the rest only comes in through the new coordinator
    const writing = writeCounterRows(
      world.counterDb,
      makeCounterRows(N, { flow: 'open', shards: 16, runId: 'rcl' }),
      150,
    );
    await waitFor('some orders taken in', async () => {
      const [r] = await world.engineDb.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM settlement_order WHERE order_id LIKE 'rcl-%'",
      );
      return Number(r[0]?.n) > N / 5;
    });
    killed.kill('SIGKILL');
    await killed.exited;
    await writing;
    const taken = await waitFor('the survivor holding the role', async () => {
      const f = await fence();
      return f && f.token > holder.token && f.holder.includes(`-${survivor.proc.pid}-`) ? f : undefined;
    });
    assert.ok(taken.token > holder.token);

    const counts = await waitAllFinished(world.engineDb, N, 120_000, 'rcl-');
    assert.deepEqual(counts, { RUNNING: 0, DONE: N, MANUAL: 0 });
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
    const [retried] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM settlement_step WHERE status='RETRY'",
    );
    assert.ok(Number(retried[0]?.n) > 0, 'no step was retried: the BullMQ retry path was not run');

    // every key is the cluster's, none on the single server the other tests use
    const onCluster = connectRedis(cluster.url);
    const single = connectRedis(REDIS_URL);
    try {
      const keys = await scanKeys(onCluster, `${world.config.redisPrefix}:*`);
      assert.ok(
        keys.some((k) => k.includes(':settle:')),
        `settlement streams not on the cluster: ${keys}`,
      );
      assert.ok(
        keys.some((k) => k.includes(':bull:')),
        `BullMQ's keys not on the cluster: ${keys}`,
      );
      assert.deepEqual(await scanKeys(single, `${world.config.redisPrefix}:*`), []);
    } finally {
      onCluster.disconnect();
      single.disconnect();
    }
    survivor.kill('SIGTERM');
    assert.equal(await survivor.exited, 0);
  });

  it('the copy engine: a signal over the ingress fanned out to every copier, the fan-out runs only where its role lock is held', async () => {
    const ingressPort = await freePort();
    exchange = createExchangeClient(world.config.counterUrl);
    const trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    await seedCopiers(world.copyRows(), exchange, [
      { follow: follow('c1', 'lead1'), usdt: '10000' },
      { follow: follow('c2', 'lead1'), usdt: '10000' },
    ]);
    const engine = world.spawn(['copy'], {
      TF_EXCHANGE_URL: world.config.counterUrl,
      TF_COPY_INGRESS_PORT: String(ingressPort),
    });
    const socket = await waitFor('the signal ingress', () =>
      TraderSocket.open(ingressPort, trader.apiKey, trader.secret),
    );
    try {
      const price = (await exchange.price(INSTRUMENT)).price;
      await socket.send(signalOf('lead1', { signalId: 'k1', price }));
      await waitFor('k1 fanned out', () => fannedOut(world.engineDb, 'k1@lead1'));
    } finally {
      socket.close();
    }
    const [orders] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT copier_id, status FROM copy_order WHERE signal_key='k1@lead1' ORDER BY copier_id",
    );
    assert.deepEqual(
      orders.map((o) => [o.copier_id, o.status]),
      [
        ['c1', 'FILLED'],
        ['c2', 'FILLED'],
      ],
    );
    engine.kill('SIGTERM');
    assert.equal(await engine.exited, 0);
  });
});
