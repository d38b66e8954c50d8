import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeCopyEntry,
  decodeSignalEntry,
  encodeCloseOutEntry,
  encodeSignalEntry,
  type SignalEntry,
  seenKey,
  signalStreamKey,
} from '../../src/copytrade/ingress/codec.js';

const entry: SignalEntry = {
  signal: {
    signalId: 's-1',
    traderId: 'trader-a',
    instrument: 'ETH-USDT-SWAP',
    action: 'open',
    side: 'long',
    qty: '3',
    price: '3400.5',
    leverage: 5,
    positionBefore: '1.25',
    filledMs: 1_764_000_000_000,
  },
  receivedMs: 1_764_000_000_012,
  source: 'ws',
};

describe('copy ingress: signal stream entries', () => {
  it('round-trip', () => {
    assert.deepEqual(decodeSignalEntry(encodeSignalEntry(entry)), entry);
    const fromFill = { ...entry, source: 'fill' as const };
    assert.deepEqual(decodeSignalEntry(encodeSignalEntry(fromFill)), fromFill);
  });

  it('is one field m with a JSON array, in a documented order', () => {
    assert.deepEqual(encodeSignalEntry(entry), [
      'm',
      '["s-1","trader-a","ETH-USDT-SWAP","open","long","3","3400.5",5,"1.25",1764000000000,1764000000012,"ws"]',
    ]);
  });

  it('names what is wrong with a malformed entry', () => {
    const [, json] = encodeSignalEntry(entry) as [string, string];
    const edit = (i: number, v: unknown) => {
      const a = JSON.parse(json);
      a[i] = v;
      return ['m', JSON.stringify(a)];
    };
    assert.deepEqual(decodeSignalEntry(edit(5, 3)), { error: 'qty: expected a positive decimal string' });
    assert.deepEqual(decodeSignalEntry(edit(10, 'x')), { error: 'bad receivedMs x' });
    assert.deepEqual(decodeSignalEntry(edit(11, 'kafka')), { error: 'bad source kafka' });
    assert.deepEqual(decodeSignalEntry(['x', json]), { error: 'expected one field m' });
    assert.deepEqual(decodeSignalEntry(['m', '{']), { error: 'field m is not JSON' });
    assert.deepEqual(decodeSignalEntry(['m', '[]']), {
      error: 'field m is not an array of 12 (13 for a liquidation)',
    });
  });

  it("a copier's close-out travels in the same stream as field c; either kind decodes", () => {
    const closeOut = {
      requestId: 'a1b2',
      copierId: 'c-1',
      traderId: 'trader-a',
      requestedMs: 1_764_000_000_000,
    };
    assert.deepEqual(encodeCloseOutEntry(closeOut), ['c', '["a1b2","c-1","trader-a",1764000000000]']);
    assert.deepEqual(decodeCopyEntry(encodeCloseOutEntry(closeOut)), { closeOut });
    assert.deepEqual(decodeCopyEntry(encodeSignalEntry(entry)), entry);
    assert.deepEqual(decodeCopyEntry(['c', '["a1b2","c 1","trader-a",1]']), { error: 'field c: bad id' });
    assert.deepEqual(decodeCopyEntry(['c', '["a1b2","c-1","trader-a","1"]']), { error: 'bad requestedMs 1' });
    assert.deepEqual(decodeCopyEntry(['c', '[1]']), {
      error: 'field c is not an array of 4 (6 for one slice)',
    });
    assert.deepEqual(decodeCopyEntry(['c', '[']), { error: 'field c is not JSON' });
  });

  it('a liquidation is a 13th element, true, present only then', () => {
    const liq = {
      ...entry,
      signal: { ...entry.signal, action: 'close' as const, qty: '1', liquidation: true },
    };
    const [, json] = encodeSignalEntry(liq) as [string, string];
    assert.equal(JSON.parse(json).length, 13);
    assert.deepEqual(decodeSignalEntry(encodeSignalEntry(liq)), liq);
    const a = JSON.parse(json);
    a[12] = false;
    assert.deepEqual(decodeSignalEntry(['m', JSON.stringify(a)]), { error: 'bad liquidation false' });
    const open = { ...entry, signal: { ...entry.signal, liquidation: true } };
    assert.deepEqual(decodeSignalEntry(encodeSignalEntry(open)), {
      error: 'liquidation: only a close is a liquidation',
    });
  });

  it('keys', () => {
    assert.equal(signalStreamKey('tf'), 'tf:copy:signals');
    assert.equal(seenKey('tf', 'trader-a', 's-1'), 'tf:copy:seen:trader-a:s-1');
  });
});
