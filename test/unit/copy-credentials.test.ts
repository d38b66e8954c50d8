import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashToken } from '../../src/copytrade/accounts/secrets.js';
import { AttemptLimiter } from '../../src/copytrade/api/attempt-limiter.js';
import { CredentialCache, type CredentialRows } from '../../src/copytrade/api/credentials.js';
import { checkQuery, intParam } from '../../src/copytrade/api/query.js';

const rows = (copiers: [string, string][]): CredentialRows => ({
  copiers: copiers.map(([token, copierId]) => ({ tokenHash: hashToken(token).toString('hex'), copierId })),
  traders: [{ apiKey: 'key-t', traderId: 't', secret: 's' }],
});

describe('credential cache', () => {
  it('answers hits without loading; a miss reloads at most once per period, shared by all who ask', async () => {
    let now = 0;
    let loads = 0;
    let table = rows([['tok-a', 'a']]);
    const cache = new CredentialCache(
      async () => {
        loads++;
        return table;
      },
      { missReloadMs: 1000, now: () => now },
    );
    await cache.reload();
    assert.equal(loads, 1);
    assert.equal(cache.copierOf('tok-a'), 'a');
    assert.deepEqual(cache.traderOf('key-t'), { traderId: 't', secret: 's' });
    // strangers within the period: answered at once, no load
    for (let i = 0; i < 100; i++) assert.equal(cache.copierOf(`guess-${i}`), undefined);
    assert.equal(loads, 1);
    // a copier written without a change message gets in once the period is over
    table = rows([
      ['tok-a', 'a'],
      ['tok-b', 'b'],
    ]);
    now = 1000;
    const [b, guess] = await Promise.all([cache.copierOf('tok-b'), cache.copierOf('guess')]);
    assert.deepEqual([b, guess, loads], ['b', undefined, 2]);
    assert.equal(cache.copierOf('guess-again'), undefined);
    assert.equal(loads, 2);
  });

  it('change messages during a reload cost one more reload, not one each', async () => {
    let loads = 0;
    let release: () => void = () => undefined;
    const cache = new CredentialCache(
      () => {
        loads++;
        return new Promise<CredentialRows>((resolve) => {
          release = () => resolve(rows([['tok-a', 'a']]));
        });
      },
      { missReloadMs: 1000 },
    );
    const first = cache.reload();
    const more = Array.from({ length: 50 }, () => cache.reload());
    release();
    await first;
    await new Promise((r) => setImmediate(r));
    release();
    await Promise.all(more);
    assert.equal(loads, 2);
  });

  it('a failed reload keeps the credentials it had', async () => {
    let fail = false;
    const cache = new CredentialCache(
      async () => {
        if (fail) throw new Error('MySQL away');
        return rows([['tok-a', 'a']]);
      },
      { missReloadMs: 0 },
    );
    await cache.reload();
    fail = true;
    await assert.rejects(cache.reload(), /MySQL away/);
    assert.equal(cache.copierOf('tok-a'), 'a');
    assert.equal(await cache.copierOf('guess'), undefined);
  });
});

describe('failed-attempt limiter', () => {
  it('refuses an address past its failures until its window ends; other addresses are untouched', () => {
    let now = 0;
    const limiter = new AttemptLimiter({ maxFailures: 3, windowMs: 1000 }, () => now);
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.blockedFor('a'), 0);
      limiter.failed('a');
    }
    now = 400;
    assert.equal(limiter.blockedFor('a'), 600);
    assert.equal(limiter.blockedFor('b'), 0);
    now = 1000;
    assert.equal(limiter.blockedFor('a'), 0);
    limiter.failed('a');
    assert.equal(limiter.blockedFor('a'), 0);
  });
});

describe("copiers' API query parameters", () => {
  const q = (s: string) => new URLSearchParams(s);
  it('an integer in range, or a 400 naming the parameter', () => {
    const range = { min: 1, max: 500, fallback: 100 };
    assert.equal(intParam(q(''), 'limit', range), 100);
    assert.equal(intParam(q('limit=500'), 'limit', range), 500);
    for (const bad of ['2.5', '0', '501', '-1', '', 'abc', '1e2', ' 5', '0x10', '9999999999']) {
      assert.throws(
        () => intParam(q(`limit=${encodeURIComponent(bad)}`), 'limit', range),
        (e: { status: number; message: string }) => e.status === 400 && /^limit: /.test(e.message),
        bad,
      );
    }
    assert.throws(() => checkQuery(q('limt=5'), ['limit']), /unknown query parameter limt/);
    assert.throws(() => checkQuery(q('limit=1&limit=2'), ['limit']), /limit: given more than once/);
    checkQuery(q('limit=1'), ['limit']);
  });
});
