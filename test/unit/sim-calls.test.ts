import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerCall, type CallContext } from '../../src/sim/calls.js';
import { Rejected } from '../../src/sim/errors.js';
import { type FaultRule, resolveRules } from '../../src/sim/faults.js';
import { IdempotencyStore } from '../../src/sim/idempotency.js';

const req = { key: 'o:1', amount: '5' };

/** A call context with one rule for the endpoint and a random source that always draws `u`. */
function context(rule: FaultRule = {}, u = 0, replies = new IdempotencyStore()): CallContext {
  return { replies, rule: resolveRules({ 'counter/swap': rule })['counter/swap'], random: () => u };
}

/** An effect that counts how often it was applied. */
function effect() {
  const calls: string[] = [];
  const apply = (r: typeof req) => {
    calls.push(r.key);
    return { key: r.key, applied: true };
  };
  return { calls, apply };
}

describe('sim calls', () => {
  it('applies a new key once and answers the stored reply to every repeat', () => {
    const ctx = context({ latencyMs: 3 });
    const e = effect();
    const first = answerCall(ctx, 'counter/swap', req, e.apply);
    assert.deepEqual(first, { status: 200, body: '{"key":"o:1","applied":true}', delayMs: 3, replay: false });
    assert.deepEqual(answerCall(ctx, 'counter/swap', { ...req }, e.apply), { ...first, replay: true });
    assert.deepEqual(e.calls, ['o:1']);
  });

  it('answers 409 to the same key with another request, applying nothing', () => {
    const ctx = context();
    const e = effect();
    answerCall(ctx, 'counter/swap', req, e.apply);
    const a = answerCall(ctx, 'counter/swap', { ...req, amount: '6' }, e.apply);
    assert.equal(a.status, 409);
    assert.equal(JSON.parse(a.body).code, 'IDEMPOTENCY_CONFLICT');
    // the same key at another endpoint is another request too
    assert.equal(answerCall(ctx, 'trade/market', req, e.apply).status, 409);
    assert.equal(e.calls.length, 1);
  });

  it('an injected error or rate limit applies nothing and is not remembered', () => {
    const replies = new IdempotencyStore();
    const e = effect();
    const error = answerCall(
      context({ errorRate: 1, latencyMs: 9 }, 0.2, replies),
      'counter/swap',
      req,
      e.apply,
    );
    assert.deepEqual(error, {
      status: 500,
      body: '{"code":"INTERNAL","message":"injected fault"}',
      delayMs: 9,
    });
    const limited = answerCall(context({ rateLimitRate: 1 }, 0.2, replies), 'counter/swap', req, e.apply);
    assert.equal(limited.status, 429);
    assert.equal(JSON.parse(limited.body).code, 'RATE_LIMITED');
    assert.deepEqual(e.calls, []);
    assert.equal(answerCall(context({}, 0.2, replies), 'counter/swap', req, e.apply).status, 200);
    assert.deepEqual(e.calls, ['o:1']);
  });

  it('a timeout applies and remembers the effect but holds the answer', () => {
    const replies = new IdempotencyStore();
    const e = effect();
    const held = answerCall(
      context({ timeoutRate: 1, timeoutHoldMs: 777 }, 0, replies),
      'counter/swap',
      req,
      e.apply,
    );
    assert.deepEqual(held, {
      status: 200,
      body: '{"key":"o:1","applied":true}',
      delayMs: 777,
      replay: false,
    });
    const retry = answerCall(context({}, 0, replies), 'counter/swap', req, e.apply);
    assert.deepEqual(retry, { ...held, delayMs: 0, replay: true });
    assert.deepEqual(e.calls, ['o:1']);
  });

  it('a reject refuses a new key with its code, but a key already applied gets its stored reply', () => {
    const replies = new IdempotencyStore();
    const e = effect();
    const reject = context({ rejectRate: 1, rejectCode: 'ACCOUNT_FROZEN' }, 0, replies);
    const refused = answerCall(reject, 'counter/swap', req, e.apply);
    assert.deepEqual(refused, {
      status: 422,
      body: '{"code":"ACCOUNT_FROZEN","message":"injected rejection"}',
      delayMs: 0,
    });
    assert.deepEqual(e.calls, []);
    answerCall(context({}, 0, replies), 'counter/swap', req, e.apply);
    assert.equal(answerCall(reject, 'counter/swap', req, e.apply).status, 200);
    assert.deepEqual(e.calls, ['o:1']);
  });

  it('a business refusal is a 422 that is not remembered; a bug is thrown', () => {
    const ctx = context();
    let broke = true;
    const apply = (r: typeof req) => {
      if (broke) throw new Rejected('INSUFFICIENT_BALANCE', 'house:funding holds 0 USDT, needs 5');
      return { key: r.key };
    };
    const refused = answerCall(ctx, 'counter/swap', req, apply);
    assert.equal(refused.status, 422);
    assert.deepEqual(JSON.parse(refused.body), {
      code: 'INSUFFICIENT_BALANCE',
      message: 'house:funding holds 0 USDT, needs 5',
    });
    broke = false;
    assert.equal(answerCall(ctx, 'counter/swap', req, apply).status, 200);
    assert.throws(
      () =>
        answerCall(ctx, 'counter/swap', { key: 'o:2', amount: '1' }, () => {
          throw new TypeError('bug');
        }),
      TypeError,
    );
    assert.deepEqual(ctx.replies.lookup('o:2', 'x'), { kind: 'new' });
  });
});
