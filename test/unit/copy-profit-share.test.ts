import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { profitShare } from '../../src/copytrade/domain/profit-share.js';
import { applyCloseFill, applyOpenFill, emptySlice } from '../../src/copytrade/domain/slices.js';

describe('profitShare', () => {
  it('accrues the ratio of a positive close PnL, rounded down to 8 places', () => {
    assert.equal(profitShare('9.5', '0.1'), '0.95');
    assert.equal(profitShare('0.00000019', '0.1'), '0.00000001');
    assert.equal(profitShare('123.456789', '0.3'), '37.0370367');
    assert.equal(profitShare('100', '0'), '0');
  });

  it('accrues nothing on a loss or a flat close, and does not carry a loss forward', () => {
    assert.equal(profitShare('-5', '0.3'), '0');
    assert.equal(profitShare('0', '0.3'), '0');
    const shares = ['10', '-10', '10'].map((pnl) => profitShare(pnl, '0.2'));
    assert.deepEqual(shares, ['2', '0', '2']);
  });

  it('is taken on PnL net of the fees: a gross gain eaten by fees pays no share', () => {
    const key = { copierId: 'c1', traderId: 'A', instrument: 'BTC-USDT-SWAP', side: 'long' as const };
    const s = applyOpenFill(emptySlice(key), { qty: '1', price: '50000', fee: '0.25' });
    // gross (50040 − 50000) × 1 × 0.01 = 0.4; fees 0.25 + 0.2502 → net −0.1002
    const closed = applyCloseFill(s, { qty: '1', price: '50040', fee: '0.2502' }, '0.01');
    assert.deepEqual([closed.grossPnl, closed.fees, closed.pnl], ['0.4', '0.5002', '-0.1002']);
    assert.equal(profitShare(closed.pnl, '0.3'), '0');
    const better = applyCloseFill(s, { qty: '1', price: '50100', fee: '0.25' }, '0.01');
    assert.deepEqual([better.pnl, profitShare(better.pnl, '0.3')], ['0.5', '0.15']);
  });
});
