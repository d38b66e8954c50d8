import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/infra/log.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import { Coordinator } from '../../src/roles/coordinator.js';
import { Fence, FencedError } from '../../src/roles/fence.js';
import { TestWorld, waitFor } from '../support/harness.js';

describe('one coordinator, fenced', () => {
  const TTL = 600;
  const world = new TestWorld();
  const clients: RedisClient[] = [];
  const log = createLogger('silent');

  /** A contender with its own Redis connection, recording when it takes the role and yields. */
  const contender = (name: string) => {
    const redis = createRedis(world.config.redisUrl);
    clients.push(redis);
    const events: string[] = [];
    const fence = new Fence(world.engineDb, 'settlement');
    const c = new Coordinator(
      redis,
      fence,
      { prefix: world.config.redisPrefix, role: 'coordinator', ttlMs: TTL, holder: name },
      {
        acquired: (token) => events.push(`${name} holds ${token}`),
        yield: () => {
          events.push(`${name} yields`);
          return undefined;
        },
      },
      log,
    );
    return { c, redis, events, fence };
  };

  before(() => world.setUp().then(() => undefined));
  after(async () => {
    for (const r of clients) r.disconnect();
    await world.tearDown();
  });

  it('one holds the role; a stop hands the role over at once with a higher token; old tokens are refused', async () => {
    const a = contender('a');
    const b = contender('b');
    a.c.start();
    await waitFor('a holding', async () => a.c.holding !== null, 5000, 20);
    b.c.start();
    await new Promise((r) => setTimeout(r, 3 * TTL));
    assert.equal(b.c.holding, null, 'two coordinators at once');
    assert.deepEqual([a.c.holds(), b.c.holds()], [true, false]);
    const t1 = Number(a.c.holding);
    assert.equal(await a.fence.run(t1, async () => 'written'), 'written');

    await a.c.stop();
    assert.equal(a.c.holds(), false);
    await waitFor('b holding', async () => b.c.holding !== null, 5000, 20);
    const t2 = Number(b.c.holding);
    assert.ok(t2 > t1);
    await assert.rejects(() => a.fence.run(t1, async () => 'late write'), FencedError);
    assert.equal(await b.fence.run(t2, async () => 'written'), 'written');
    assert.deepEqual(a.events, [`a holds ${t1}`, 'a yields']);
    await b.c.stop();
  });

  it('tokens keep growing after Redis lost its counter (FLUSHALL): MySQL issues the next one', async () => {
    const a = contender('a');
    a.c.start();
    await waitFor('a holding', async () => a.c.holding !== null, 5000, 20);
    const before = Number(a.c.holding);
    await a.c.stop();
    await a.redis.del(`${world.config.redisPrefix}:coordinator:token`);
    const b = contender('b');
    b.c.start();
    await waitFor('b holding', async () => b.c.holding !== null, 5000, 20);
    assert.ok(Number(b.c.holding) > before, `token ${b.c.holding} after ${before}`);
    assert.equal(await b.fence.run(Number(b.c.holding), async () => 'written'), 'written');
    await b.c.stop();
  });

  it('a holder silent inside a fenced write loses its session, so its successor can raise the token', async () => {
    const fence = new Fence(world.engineDb, 'silent', 1000);
    await fence.raise(1, 'a');
    let wake!: () => void;
    const asleep = new Promise<void>((r) => {
      wake = r;
    });
    // the holder's write starts and then goes quiet, the fence row locked
    const stalled = fence.run(1, async (conn) => {
      await asleep;
      await conn.query('SELECT 1');
    });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await fence.raise(2, 'b');
    const waited = Date.now() - t0;
    assert.ok(waited < 5000, `the raise waited ${waited} ms`);
    wake();
    await assert.rejects(stalled);
    await assert.rejects(() => fence.run(1, async () => 'late'), FencedError);
  });

  it('a holder that cannot reach Redis yields; another takes over within the TTL and an extension', async () => {
    const a = contender('a');
    const b = contender('b');
    a.c.start();
    await waitFor('a holding', async () => a.c.holding !== null, 5000, 20);
    b.c.start();
    a.redis.disconnect(); // as if its host were cut off
    const lostAt = Date.now();
    await waitFor('a yields', async () => a.c.holding === null, 5000, 20);
    await waitFor('b holding', async () => b.c.holding !== null, 5000, 20);
    const handover = Date.now() - lostAt;
    // the TTL plus one extension interval, and a little for the two ticks to be scheduled
    assert.ok(handover <= TTL + TTL / 3 + 400, `handover took ${handover} ms`);
    await b.c.stop();
    await a.c.stop();
  });
});
