import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, retryDelayMs } from '../../src/settlement/domain/errors.js';

describe('error classification', () => {
  it('retries what a later call with the same key can fix', () => {
    for (const code of ['TIMEOUT', 'UNAVAILABLE', 'INTERNAL', 'RATE_LIMITED', 'HTTP_503']) {
      assert.equal(classify(code), 'retryable', code);
    }
  });
  it('parks what only an operator can fix', () => {
    for (const code of ['INSUFFICIENT_BALANCE', 'INVALID_REQUEST', 'IDEMPOTENCY_CONFLICT', 'ENGINE_BUG']) {
      assert.equal(classify(code, 500), 'fatal', code);
    }
  });
  it('decides unknown codes by status', () => {
    assert.equal(classify('SOMETHING_NEW', 502), 'retryable');
    assert.equal(classify('SOMETHING_NEW', 429), 'retryable');
    assert.equal(classify('SOMETHING_NEW', 400), 'fatal');
    assert.equal(classify('SOMETHING_NEW'), 'fatal');
  });
  it('treats names of Object.prototype as unknown codes, not table entries', () => {
    for (const code of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      assert.equal(classify(code, 503), 'retryable', code);
      assert.equal(classify(code, 400), 'fatal', code);
    }
  });
});

describe('retry delay', () => {
  it('doubles per attempt between half and all of the ceiling, capped', () => {
    assert.equal(
      retryDelayMs(1, 100, 10_000, () => 0),
      50,
    );
    assert.equal(
      retryDelayMs(1, 100, 10_000, () => 1),
      100,
    );
    assert.equal(
      retryDelayMs(3, 100, 10_000, () => 0.5),
      300,
    );
    assert.equal(
      retryDelayMs(20, 100, 10_000, () => 1),
      10_000,
    );
    assert.equal(
      retryDelayMs(20, 100, 10_000, () => 0),
      5_000,
    );
  });
});
