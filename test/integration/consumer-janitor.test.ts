import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { GROUP, streamKey } from '../../src/settlement/domain/streams.js';
import { REDIS_URL, TestWorld, waitFor } from '../support/harness.js';

describe('a restarted engine rejoins under a new name and the old name is cleaned up', () => {
  const world = new TestWorld();
  const redis = new Redis(REDIS_URL);
  const env = {
    TF_CLAIM_IDLE_MS: '1000',
    TF_HTTP_TIMEOUT_MS: '500',
    TF_RETRY_MAX_MS: '1000',
    TF_RECOVERY_IDLE_MS: '20000',
    TF_RECOVERY_INTERVAL_MS: '300',
  };
  const consumers = async () =>
    ((await redis.xinfo('CONSUMERS', streamKey(world.config.redisPrefix, 1), GROUP)) as string[][]).map(
      (c) => c[1],
    );
  before(async () => {
    await world.setUp(env);
    await world.startSim();
  });
  after(async () => {
    redis.disconnect();
    await world.tearDown();
  });

  it('removes the consumers of a stopped process, never those of a live one', async () => {
    // a consumer joins a group with its first delivery: each engine settles one order
    const first = await world.startEngine();
    const [a] = await world.runningEngines();
    await writeCounterRows(world.counterDb, makeCounterRows(1, { flow: 'open', shards: 16, runId: 'jan1' }));
    await waitFor('the first engine in the group', async () => (await consumers()).includes(a as string));
    first.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.deepEqual(await world.runningEngines(), [], 'a stopped engine keeps its presence');

    await world.startEngine();
    const [b] = await world.runningEngines();
    assert.notEqual(b, a, 'the restarted engine must take a new consumer name');
    await writeCounterRows(world.counterDb, makeCounterRows(1, { flow: 'open', shards: 16, runId: 'jan2' }));
    await waitFor('the old name removed', async () => {
      const names = await consumers();
      return !names.includes(a as string) && names.includes(b as string);
    });
    // the live engine keeps its name through further sweeps
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await consumers(), [b]);
  });
});
