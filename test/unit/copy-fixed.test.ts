import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ceilDiv, ceilTo, floorTo, fx, fxOfNumber, fxStr, ONE } from '../../src/copytrade/domain/fixed.js';

describe('fixed: scaled bigint decimals', () => {
  it('round-trips decimal strings exactly, in canonical form', () => {
    for (const [input, out] of [
      ['0', '0'],
      ['-0', '0'],
      ['1', '1'],
      ['100.50', '100.5'],
      ['0.000000000000000001', '0.000000000000000001'],
      ['-20.99', '-20.99'],
      ['123456789012345678.123456789012345678', '123456789012345678.123456789012345678'],
    ]) {
      assert.equal(fxStr(fx(input as string)), out, input);
    }
    assert.equal(fx('1.5'), 15n * 10n ** 17n);
    assert.equal(fxOfNumber(2.5), fx('2.5'));
    assert.equal(fxOfNumber(10), 10n * ONE);
  });

  it('refuses what is not a plain decimal of at most 18 places', () => {
    for (const bad of ['', '1.', '.5', '1e-7', '0x10', ' 1', '1 ', '+1', '1.0000000000000000001', 'NaN']) {
      assert.throws(() => fx(bad), RangeError, bad);
    }
    assert.throws(() => fxOfNumber(1e-7), RangeError); // prints as 1e-7
  });

  it('rounds to a step down or up, and divides up', () => {
    assert.equal(fxStr(floorTo(fx('1.37'), fx('0.1'))), '1.3');
    assert.equal(fxStr(floorTo(fx('1.3'), fx('0.1'))), '1.3');
    assert.equal(fxStr(ceilTo(fx('1.31'), fx('0.1'))), '1.4');
    assert.equal(fxStr(ceilTo(fx('1.3'), fx('0.1'))), '1.3');
    assert.equal(fxStr(floorTo(fx('0.9'), fx('0.25'))), '0.75');
    assert.equal(ceilDiv(7n, 2n), 4n);
    assert.equal(ceilDiv(8n, 2n), 4n);
    assert.equal(ceilDiv(0n, 3n), 0n);
  });
});
