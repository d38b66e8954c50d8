import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createRedis, deleteKeys, type RedisClient } from '../../src/infra/redis.js';
import type { Read } from '../../src/infra/stream-consumer.js';
import { ensureGroup } from '../../src/infra/stream-consumer.js';
import { Handoffs } from '../../src/settlement/steps/handoffs.js';
import { REDIS_URL } from '../support/harness.js';

describe('hand-offs in batches (redis/handoffs-n.lua)', () => {
  const prefix = `tfho${randomBytes(3).toString('hex')}`;
  const [s1, s2] = [`${prefix}:s1`, `${prefix}:s2`];
  let redis: RedisClient;

  before(async () => {
    redis = createRedis(REDIS_URL);
    for (const s of [s1, s2]) await ensureGroup(redis, s, 'g');
  });
  after(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  /** Adds `n` entries to s1 and reads them as consumer c1: in hand, as a step worker has them. */
  async function inHand(n: number): Promise<string[]> {
    for (let i = 0; i < n; i++) await redis.xadd(s1, '*', 'm', `order-${i}`);
    const read = (await redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', n, 'STREAMS', s1, '>')) as Read[];
    return (read[0]?.[1] ?? []).map(([id]) => id);
  }

  it('hands many orders on in one call, each once, and takes the new entries for the caller', async () => {
    const ids = await inHand(5);
    const delivered: Read[] = [];
    const sizes: number[] = [];
    const handoffs = new Handoffs(redis, { group: 'g', markerMs: 60_000, observe: (n) => sizes.push(n) });
    handoffs.takeFor({
      streams: [s2],
      consumer: 'c1',
      takeable: () => 10,
      deliver: (r) => delivered.push(...r),
    });
    const added = await Promise.all(
      ids.map((id, i) =>
        handoffs.handOn(s1, id, { stream: s2, marker: `${prefix}:mk:${i}`, fields: ['m', `o${i}`] }),
      ),
    );
    assert.deepEqual(added, [true, true, true, true, true]);
    // the first call carried one order, the rest gathered while it was in flight
    assert.deepEqual(sizes, [1, 4]);
    assert.equal(await redis.xlen(s1), 0, 'the entries of step n are deleted');
    assert.equal(((await redis.xpending(s1, 'g')) as [number])[0], 0, 'and acknowledged');
    const taken = delivered.flatMap(([stream, entries]) => entries.map(([, f]) => `${stream}=${f?.[1]}`));
    assert.deepEqual(
      taken.sort(),
      ['o0', 'o1', 'o2', 'o3', 'o4'].map((o) => `${s2}=${o}`),
    );
    const pending = (await redis.xpending(s2, 'g', '-', '+', 10, 'c1')) as unknown[];
    assert.equal(pending.length, 5, 'what was taken is pending for the caller');

    // a repeat of a hand-off already made adds nothing, only acknowledges
    const [again] = await inHand(1);
    const repeat = await handoffs.handOn(s1, again as string, {
      stream: s2,
      marker: `${prefix}:mk:0`,
      fields: ['m', 'dup'],
    });
    assert.equal(repeat, false);
    assert.equal(await redis.xlen(s2), 5);
    assert.equal(await redis.xlen(s1), 0);
  });

  it('takes nothing when the caller has no room, and the entries wait for any reader', async () => {
    const [id] = await inHand(1);
    const delivered: Read[] = [];
    const handoffs = new Handoffs(redis, { group: 'g', markerMs: 60_000 });
    handoffs.takeFor({
      streams: [s2],
      consumer: 'c1',
      takeable: () => 0,
      deliver: (r) => delivered.push(...r),
    });
    await handoffs.handOn(s1, id as string, {
      stream: s2,
      marker: `${prefix}:mk:full`,
      fields: ['m', 'later'],
    });
    assert.deepEqual(delivered, []);
    const read = (await redis.xreadgroup('GROUP', 'g', 'c2', 'COUNT', 10, 'STREAMS', s2, '>')) as Read[];
    assert.deepEqual(
      (read[0]?.[1] ?? []).map(([, f]) => f?.[1]),
      ['later'],
    );
  });
});
