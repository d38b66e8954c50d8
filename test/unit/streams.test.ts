import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage, type StepMessage } from '../../src/settlement/streams.js';

const m: StepMessage = {
  orderId: 'o1',
  userId: 'u1',
  flow: 'close',
  asset: 'ETH',
  qty: '1.25',
  usdt: '0',
  step: 3,
  attempt: 2,
  carry: '3741.5',
  t0: 1764000000123,
};

describe('stream messages', () => {
  it('round-trip', () => {
    assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    assert.deepEqual(decodeMessage(encodeMessage({ ...m, carry: null })), { ...m, carry: null });
  });
  it('name what is wrong with a malformed entry', () => {
    const fields = encodeMessage(m);
    assert.deepEqual(decodeMessage(fields.map((f) => (f === '3' ? '9' : f))), { error: 'bad step 9' });
    assert.deepEqual(decodeMessage(['junk', 'x']), { error: 'missing order fields' });
    assert.deepEqual(decodeMessage(fields.map((f) => (f === 'ETH' ? 'DOGE' : f))), {
      error: 'bad asset DOGE',
    });
  });
});
