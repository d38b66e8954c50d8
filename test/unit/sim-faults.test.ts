import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequest } from '../../src/sim/errors.js';
import {
  decide,
  parseFaultSettings,
  parseFaultSettingsJson,
  type ResolvedRule,
  resolveRules,
} from '../../src/sim/faults.js';

/** A random source that plays back the given draws and fails if asked for more. */
function draws(...values: number[]): () => number {
  return () => {
    const v = values.shift();
    assert.notEqual(v, undefined, 'decide drew more random numbers than expected');
    return v as number;
  };
}

const rule = (r: Partial<ResolvedRule> = {}): ResolvedRule => ({ ...resolveRules({})['counter/swap'], ...r });

/** A small deterministic PRNG (mulberry32), for rate checks over many calls. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('sim faults', () => {
  describe('settings', () => {
    it('accepts every setting, per endpoint and as * default', () => {
      const s = {
        '*': { latencyMs: 2, jitterMs: 3 },
        'trade/market': {
          errorRate: 0.1,
          rateLimitRate: 0.2,
          timeoutRate: 0.3,
          timeoutHoldMs: 500,
          rejectRate: 1,
        },
        'funding/transfer': { rejectRate: 0.5, rejectCode: 'ACCOUNT_FROZEN' },
      };
      assert.deepEqual(parseFaultSettings(s), s);
      assert.deepEqual(parseFaultSettingsJson('{}'), {});
    });

    const bad: [unknown, RegExp][] = [
      [[], /^faults: expected an object/],
      [{ 'counter/nope': {} }, /faults\.counter\/nope: unknown endpoint/],
      [{ '*': 5 }, /faults\.\*: expected an object/],
      [
        { 'counter/swap': { errorRate: 1.5 } },
        /faults\.counter\/swap\.errorRate: expected a number from 0 to 1/,
      ],
      [{ 'counter/swap': { rejectRate: '0.5' } }, /rejectRate: expected a number from 0 to 1/],
      [{ '*': { latencyMs: -1 } }, /faults\.\*\.latencyMs: expected an integer from 0 to 600000/],
      [{ '*': { jitterMs: 1.5 } }, /jitterMs: expected an integer/],
      [{ '*': { timeoutHoldMs: 600_001 } }, /timeoutHoldMs: expected an integer/],
      [{ '*': { rejectCode: 'lower' } }, /rejectCode: expected a code/],
      [{ '*': { errorrate: 0.1 } }, /faults\.\*\.errorrate: unknown setting/],
    ];
    for (const [input, message] of bad) {
      it(`rejects ${JSON.stringify(input)}`, () => {
        assert.throws(
          () => parseFaultSettings(input),
          (e: unknown) => e instanceof InvalidRequest && message.test(e.message),
        );
      });
    }

    it('rejects text that is not JSON', () => {
      assert.throws(() => parseFaultSettingsJson('{errorRate:1}'), /faults: not valid JSON/);
    });

    it('resolves each endpoint over the * default, then the built-in defaults', () => {
      const rules = resolveRules({
        '*': { latencyMs: 5, errorRate: 0.1 },
        'counter/swap': { errorRate: 0, rejectRate: 1 },
      });
      assert.deepEqual(rules['counter/swap'], {
        latencyMs: 5,
        jitterMs: 0,
        errorRate: 0,
        rateLimitRate: 0,
        timeoutRate: 0,
        timeoutHoldMs: 10_000,
        rejectRate: 1,
        rejectCode: 'INSUFFICIENT_BALANCE',
      });
      assert.equal(rules['trade/market'].errorRate, 0.1);
      assert.equal(rules['funding/transfer'].latencyMs, 5);
    });
  });

  describe('decide', () => {
    it('without faults passes after the latency, drawing nothing', () => {
      assert.deepEqual(decide(rule({ latencyMs: 7 }), draws()), { delayMs: 7, fault: { kind: 'none' } });
    });

    it('adds jitter from 0 to jitterMs', () => {
      assert.equal(decide(rule({ latencyMs: 10, jitterMs: 4 }), draws(0)).delayMs, 10);
      assert.equal(decide(rule({ latencyMs: 10, jitterMs: 4 }), draws(0.999)).delayMs, 14);
    });

    it('an error is half 500 INTERNAL, half 503 UNAVAILABLE', () => {
      assert.deepEqual(decide(rule({ errorRate: 0.5 }), draws(0.2, 0.1)).fault, {
        kind: 'error',
        status: 500,
        code: 'INTERNAL',
      });
      assert.deepEqual(decide(rule({ errorRate: 0.5 }), draws(0.2, 0.7)).fault, {
        kind: 'error',
        status: 503,
        code: 'UNAVAILABLE',
      });
      assert.equal(decide(rule({ errorRate: 0.5 }), draws(0.5)).fault.kind, 'none');
    });

    it('draws error, rate limit, timeout, reject in that order; the first hit wins', () => {
      const all = rule({
        errorRate: 0.5,
        rateLimitRate: 0.5,
        timeoutRate: 0.5,
        rejectRate: 0.5,
        timeoutHoldMs: 300,
      });
      assert.deepEqual(decide(all, draws(0.9, 0.1)).fault, { kind: 'rateLimit' });
      assert.deepEqual(decide(all, draws(0.9, 0.9, 0.1)).fault, { kind: 'timeout', holdMs: 300 });
      assert.deepEqual(decide(all, draws(0.9, 0.9, 0.9, 0.1)).fault, {
        kind: 'reject',
        code: 'INSUFFICIENT_BALANCE',
      });
      assert.deepEqual(decide(all, draws(0.9, 0.9, 0.9, 0.9)).fault, { kind: 'none' });
    });

    it('a rate of 1 always hits', () => {
      const r = rule({ rejectRate: 1, rejectCode: 'ACCOUNT_FROZEN' });
      const random = seeded(1);
      for (let i = 0; i < 1000; i++)
        assert.deepEqual(decide(r, random).fault, { kind: 'reject', code: 'ACCOUNT_FROZEN' });
    });

    it('hits about as often as the rate says', () => {
      const random = seeded(42);
      const r = rule({ errorRate: 0.2, rateLimitRate: 0.25 });
      const n = 20_000;
      const counts = { none: 0, error: 0, rateLimit: 0, timeout: 0, reject: 0 };
      for (let i = 0; i < n; i++) counts[decide(r, random).fault.kind]++;
      assert.ok(Math.abs(counts.error / n - 0.2) < 0.015, `error share ${counts.error / n}`);
      // the rate limit is drawn only for calls the error draw spared: 0.8 * 0.25
      assert.ok(Math.abs(counts.rateLimit / n - 0.2) < 0.015, `rate limit share ${counts.rateLimit / n}`);
      assert.equal(counts.timeout + counts.reject, 0);
    });
  });
});
