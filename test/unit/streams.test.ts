import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage, type StepMessage } from '../../src/settlement/domain/streams.js';

const m: StepMessage = {
  orderId: 'o1',
  userId: 'u1',
  flow: 'close',
  asset: 'ETH',
  qty: '1.25',
  usdt: '0',
  step: 3,
  attempt: 2,
  firstAttempt: 1,
  carry: '3741.5',
  t0: 1764000000123,
};

describe('stream messages', () => {
  it('round-trip', () => {
    assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    assert.deepEqual(decodeMessage(encodeMessage({ ...m, carry: null })), { ...m, carry: null });
  });
  it('name what is wrong with a malformed entry', () => {
    const [, json] = encodeMessage(m) as [string, string];
    const edit = (i: number, v: unknown) => {
      const a = JSON.parse(json);
      a[i] = v;
      return ['m', JSON.stringify(a)];
    };
    assert.deepEqual(decodeMessage(edit(6, 9)), { error: 'bad step 9' });
    assert.deepEqual(decodeMessage(edit(3, 'DOGE')), { error: 'bad asset DOGE' });
    assert.deepEqual(decodeMessage(edit(0, null)), { error: 'missing order fields' });
    assert.deepEqual(decodeMessage(edit(7, 0)), { error: 'bad attempt 0' });
    assert.deepEqual(decodeMessage(['junk', 'x']), { error: 'expected one field m' });
    assert.deepEqual(decodeMessage(['m', '{not json']), { error: 'field m is not JSON' });
    assert.deepEqual(decodeMessage(['m', '[1,2]']), { error: 'field m is not an array of 11' });
  });
});
