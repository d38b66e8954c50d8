import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestWorld } from './harness.js';

/**
 * Not a test of its own: test-teardown.test.ts runs this file as a child and checks that it
 * ends when its set-up fails, at the point FAIL_AT names (before the world's set-up, as a
 * missing browser does; or once the world has started a simulator).
 */
describe('a file whose set-up fails', () => {
  const world = new TestWorld();
  before(async () => {
    if (process.env.FAIL_AT === 'after-sim') {
      await world.setUp();
      await world.startSim();
    }
    throw new Error(`set-up failed on purpose (${process.env.FAIL_AT})`);
  });
  after(() => world.tearDown());

  it('never runs', () => {
    assert.fail('the set-up failed, so no test of this file may run');
  });
});
