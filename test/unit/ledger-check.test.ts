import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLedger } from '../../src/settlement/domain/ledger-check.js';

const full = (id: string) => Object.fromEntries([1, 2, 3, 4].map((s) => [`${id}:${s}`, 1]));

describe('ledger check', () => {
  it('passes when every DONE order has each step applied once', () => {
    const c = checkLedger({ conserved: true, doubleEffects: 0, effects: { ...full('a'), ...full('b') } }, [
      'a',
      'b',
    ]);
    assert.equal(c.ok, true);
    assert.equal(c.ordersSeen, 2);
    assert.equal(c.effects, 8);
  });
  it('counts a step applied twice', () => {
    const c = checkLedger({ conserved: true, doubleEffects: 0, effects: { ...full('a'), 'a:3': 2 } }, ['a']);
    assert.equal(c.doubleEffects, 1);
    assert.equal(c.ok, false);
  });
  it('counts the steps a DONE order lacks', () => {
    const { 'a:2': _, ...rest } = full('a');
    const c = checkLedger({ conserved: true, doubleEffects: 0, effects: rest }, ['a', 'z']);
    assert.equal(c.missingEffects, 5);
    assert.equal(c.ok, false);
  });
  it('fails when the simulator finds money not conserved', () => {
    assert.equal(checkLedger({ conserved: false, doubleEffects: 0, effects: full('a') }, ['a']).ok, false);
  });
});
