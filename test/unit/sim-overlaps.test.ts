import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverlapWatch } from '../../src/sim/overlaps.js';

describe('overlap watch', () => {
  it('counts a call of an order arriving before the previous one was answered', () => {
    const w = new OverlapWatch();
    w.arrive('o1:1', 1000, 5);
    w.arrive('o1:2', 1005, 5); // answered at 1005: no overlap
    w.arrive('o2:1', 1006, 50);
    assert.equal(w.overlaps, 0);
    w.arrive('o1:2', 1008, 5); // o1:2 still unanswered until 1010
    w.arrive('o2:1', 1030, 5); // o2's first answer is due at 1056
    assert.equal(w.overlaps, 2);
  });
  it('keys without a step still count per key', () => {
    const w = new OverlapWatch();
    w.arrive('plain', 0, 10);
    w.arrive('plain', 5, 10);
    assert.equal(w.overlaps, 1);
  });
});
