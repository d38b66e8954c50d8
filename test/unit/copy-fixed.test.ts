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

  it('round-trips values of every length, short and long integer parts, signs and places', () => {
    let x = 0x2545f491n;
    for (let i = 0; i < 5000; i++) {
      // a 64-bit xorshift, cut to 1..36 digits
      x ^= (x << 13n) & 0xffffffffffffffffn;
      x ^= x >> 7n;
      x ^= (x << 17n) & 0xffffffffffffffffn;
      const digits = (x * x).toString().slice(0, 1 + (i % 36));
      const v = BigInt(digits) * (i % 3 === 0 ? -1n : 1n);
      assert.equal(fx(fxStr(v)), v, digits);
    }
    assert.equal(fx('-0.5'), -5n * 10n ** 17n);
    assert.equal(fx('999999999999999.999999999999999999'), 10n ** 33n - 1n);
    assert.equal(fx('1234567890123456.5'), 12345678901234565n * 10n ** 17n);
  });

  it('refuses what is not a plain decimal of at most 18 places', () => {
    for (const bad of [
      '',
      '-',
      '-.5',
      '1.2.3',
      '1-2',
      '1.-2',
      '1.',
      '.5',
      '1e-7',
      '0x10',
      ' 1',
      '1 ',
      '+1',
      '1.0000000000000000001',
      'NaN',
    ]) {
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
