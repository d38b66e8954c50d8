import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import type { Fanout } from '../../src/copytrade/fanout/fanout.js';
import { FANOUT_GROUP, FanoutWorker } from '../../src/copytrade/fanout/fanout-worker.js';
import {
  encodeSignalEntry,
  type SignalEntry,
  signalDeadLetterKey,
  signalStreamKey,
} from '../../src/copytrade/ingress/codec.js';
import { readDeadLetters } from '../../src/infra/dead-letter.js';
import { createLogger } from '../../src/infra/log.js';
import { createRedis, deleteKeys, type RedisClient } from '../../src/infra/redis.js';
import { REDIS_URL, waitFor } from '../support/harness.js';

/**
 * The fan-out's delivery of `copy:signals` on the real Redis, with a fan-out that records
 * what it is given (the fan-out itself is tested in copy-fanout.test.ts): stream order
 * across a change of holder, what a former holder read late, and a holder that lost its role.
 */
describe('fan-out worker: delivery of copy signals in stream order', () => {
  const prefix = `tfw${randomBytes(4).toString('hex')}`;
  const stream = signalStreamKey(prefix);
  let redis: RedisClient;
  const workers: FanoutWorker[] = [];
  const blocking: RedisClient[] = [];

  /** A fan-out that records each signal id it was given (and whether as a redelivery). */
  const recorder = (fail: (signalId: string) => boolean = () => false) => {
    const seen: string[] = [];
    const fanout = {
      run: async (e: SignalEntry, again: boolean) => {
        if (fail(e.signal.signalId)) throw new Error(`fan-out of ${e.signal.signalId} failed`);
        seen.push(again ? `${e.signal.signalId}*` : e.signal.signalId);
        return {};
      },
      closeOut: async () => undefined,
      stop: () => undefined,
    } as unknown as Fanout;
    return { seen, fanout };
  };

  const start = async (fanout: Fanout, holdsRole: () => boolean = () => true) => {
    const b = createRedis(REDIS_URL, { blocking: true });
    blocking.push(b);
    const consumer = `c-${workers.length}`;
    const w = new FanoutWorker(redis, b, fanout, { prefix, consumer, holdsRole }, createLogger('silent'));
    workers.push(w);
    await w.start();
    return w;
  };

  const fields = (signalId: string): string[] => {
    const signal: TraderSignal = {
      signalId,
      traderId: 'trader-a',
      instrument: 'BTC-USDT-SWAP',
      action: 'open',
      side: 'long',
      qty: '1',
      price: '64000',
      leverage: 10,
      positionBefore: '0',
      filledMs: Date.now(),
    };
    return encodeSignalEntry({ signal, receivedMs: Date.now(), source: 'ws' });
  };
  const add = (signalId: string) => redis.xadd(stream, '*', ...fields(signalId));

  before(() => {
    redis = createRedis(REDIS_URL);
  });
  after(async () => {
    await Promise.allSettled(workers.map((w) => w.stop(2000)));
    for (const b of blocking) b.disconnect();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it("takes over what a former holder read late, before the trader's later signals", async () => {
    const { seen, fanout } = recorder();
    const w = await start(fanout);
    await add('s1');
    await waitFor('s1', async () => seen.length === 1);
    // the former holder's blocking read, resent by ioredis once Redis is back, takes s2 into
    // its pending list; in one transaction, so the holder's own blocked read cannot get it first
    const replies = await redis
      .multi()
      .xadd(stream, '*', ...fields('s2'))
      .xreadgroup('GROUP', FANOUT_GROUP, 'former-holder', 'COUNT', 1, 'STREAMS', stream, '>')
      .exec();
    const late = replies?.[1]?.[1] as [string, [string, string[]][]][] | null;
    assert.equal(late?.[0]?.[1].length, 1, 'the former holder took s2');
    await add('s3');
    await waitFor('s2 and s3', async () => seen.length === 3, 5000);
    assert.deepEqual(seen, ['s1', 's2*', 's3']);
    await waitFor('nothing pending', async () => (await redis.xpending(stream, FANOUT_GROUP))[0] === 0);
    await w.stop(2000);
  });

  it('a process that no longer holds the role reads nothing; the next holder copies it', async () => {
    let holds = true;
    const first = recorder();
    const w = await start(first.fanout, () => holds);
    await add('s4');
    await waitFor('s4', async () => first.seen.length === 1);
    holds = false;
    await add('s5');
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(first.seen, ['s4']);
    const next = recorder();
    await start(next.fanout);
    await waitFor('s5 by the next holder', async () => next.seen.length === 1, 5000);
    // s5 may sit in the first process's pending list (its read was under way): taken over, delivered again
    assert.deepEqual(
      next.seen.map((s) => s.replace('*', '')),
      ['s5'],
    );
    assert.deepEqual(first.seen, ['s4']);
    await w.stop(2000);
  });

  it('a failing fan-out is tried again, never passed by a later signal', async () => {
    for (const w of workers.splice(0)) await w.stop(2000);
    let failures = 2;
    const { seen, fanout } = recorder((id) => id === 's6' && failures-- > 0);
    await start(fanout);
    await add('s6');
    await add('s7');
    await waitFor('s6 and s7', async () => seen.length === 2, 10_000);
    assert.deepEqual(seen, ['s6*', 's7']);
  });

  it('an entry that cannot be read is dead-lettered whole, with its source and reason', async () => {
    const { seen, fanout } = recorder();
    await start(fanout);
    const id = await redis.xadd(stream, '*', 'm', '[1,2');
    await add('s8');
    await waitFor('s8', async () => seen.includes('s8'), 5000);
    const [letter] = (await readDeadLetters(redis, signalDeadLetterKey(prefix), 10)).filter((d) =>
      d.source.endsWith(`/${id}`),
    );
    assert.equal(letter?.source, `${stream}/${id}`);
    assert.equal(letter?.reason, 'field m is not JSON');
    assert.equal(letter?.entry.toString(), JSON.stringify(['m', '[1,2']));
    assert.ok(letter && Math.abs(letter.atMs - Date.now()) < 10_000);
  });
});
