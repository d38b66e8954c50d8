import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { GROUP, streamKey } from '../../src/settlement/domain/streams.js';
import { freePort, REDIS_URL, TestWorld, waitFor } from '../support/harness.js';
import { assertLedgerClean, assertStepsInOrder, waitAllFinished } from '../support/settlement.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** `name_sum` and `name_count` of a Prometheus histogram in an exposition text. */
function histogram(text: string, name: string): { sum: number; count: number } {
  const value = (suffix: string) =>
    Number(new RegExp(`^${name}_${suffix} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: value('sum'), count: value('count') };
}

describe('settlement survives a kill in the middle of a batched hand-off', () => {
  const world = new TestWorld();
  const N = 1500;
  let watcher: Redis | undefined;
  let admin: Redis | undefined;
  let savedEvents = '';
  let opsPort = 0;
  // the first engine's Redis answers arrive late: a hand-off is done in Redis well before
  // the engine hears of it, so the kill lands between the two
  const proxy = new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));

  before(async () => {
    opsPort = await freePort();
    await proxy.open();
    proxy.delayReplies(5);
    await world.setUp({
      TF_CLAIM_IDLE_MS: '1000',
      TF_HTTP_TIMEOUT_MS: '500',
      TF_CLAIM_INTERVAL_MS: '200',
      // no recovery scan: what the dead process left is finished by claims alone
      TF_RECOVERY_IDLE_MS: '86400000',
      TF_OPS_PORT: String(opsPort),
    });
    await world.startSim({ '*': { latencyMs: 1, jitterMs: 2 } });
    // every XADD into the streams of steps 2 to 4 is seen: a hand-off, counted per stream
    admin = new Redis(REDIS_URL);
    savedEvents = String(((await admin.config('GET', 'notify-keyspace-events')) as string[])[1] ?? '');
    await admin.config('SET', 'notify-keyspace-events', 'Kt');
  });
  after(async () => {
    watcher?.disconnect();
    await proxy.cut();
    await admin?.config('SET', 'notify-keyspace-events', savedEvents).catch(() => undefined);
    admin?.disconnect();
    await world.tearDown();
  });

  it('SIGKILL as a batch lands in Redis, then a restart: every order handed to each step exactly once, all DONE', async () => {
    const prefix = world.config.redisPrefix;
    const handedTo = new Map<string, number>([2, 3, 4].map((s) => [streamKey(prefix, s as 2 | 3 | 4), 0]));
    let killAt: (() => void) | null = null;
    watcher = new Redis(REDIS_URL);
    // a hand-off's effects in Redis: XADD into the next step's stream, XDEL of the entry done
    await watcher.psubscribe(`__keyspace@0__:${prefix}:settle:[1234]`);
    watcher.on('pmessage', (_pattern, channel: string, event: string) => {
      if (event !== 'xadd' && event !== 'xdel') return;
      const stream = channel.slice(channel.indexOf(':') + 1);
      if (event === 'xadd' && handedTo.has(stream)) handedTo.set(stream, (handedTo.get(stream) ?? 0) + 1);
      killAt?.();
    });

    const engine = world.spawn(['start'], { TF_REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    await writeCounterRows(world.counterDb, makeCounterRows(N, { flow: 'mixed', shards: 16, runId: 'hko' }));
    const base = `http://127.0.0.1:${opsPort}`;
    // armed once hand-offs run in batches and the run is far from done
    const batches = await waitFor(
      'batched hand-offs under way',
      async () => {
        const h = histogram(await (await fetch(`${base}/metrics`)).text(), 'tradeflow_handoff_batch_orders');
        return h.count > 20 && h.sum / h.count > 1.5 ? h : undefined;
      },
      30_000,
      20,
    );
    const handedAtArm = handedTo.get(streamKey(prefix, 4)) ?? 0;
    assert.ok(handedAtArm < N / 2, `armed too late: ${handedAtArm} of ${N} already in step 4`);
    // the kill lands as soon as Redis has carried out part of a hand-off, before the engine hears of it
    const killed = new Promise<void>((resolve) => {
      killAt = () => {
        killAt = null;
        engine.kill('SIGKILL');
        resolve();
      };
    });
    await killed;
    await engine.exited;

    // the dead engine left entries pending: the kill cut through work in flight
    let pending = 0;
    for (const step of [1, 2, 3, 4] as const) {
      const summary = (await admin?.xpending(streamKey(prefix, step), GROUP)) as [number, ...unknown[]];
      pending += Number(summary[0]);
    }
    assert.ok(pending > 0, 'nothing was pending at the kill');

    const restarted = world.spawn(['start']);
    const counts = await waitAllFinished(world.engineDb, N, 60_000, 'hko-');
    assert.deepEqual(counts, { RUNNING: 0, DONE: N, MANUAL: 0 });
    assert.ok(batches.sum / batches.count > 1.5, 'hand-offs were not batched');
    assert.deepEqual(
      [...handedTo.values()],
      [N, N, N],
      `hand-offs into steps 2, 3, 4 (${pending} entries pending at the kill)`,
    );
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb, { sequential: true });
    restarted.kill('SIGTERM');
    assert.equal(await restarted.exited, 0);
  });
});
