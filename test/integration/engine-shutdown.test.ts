import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestWorld } from '../support/harness.js';

/** Resolves with the exit code, or with 'still running' once `ms` have passed. */
const exitWithin = (exited: Promise<number | null>, ms: number) =>
  Promise.race([
    exited,
    new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms).unref()),
  ]);

describe('engine shutdown', () => {
  const world = new TestWorld();

  before(async () => {
    await world.setUp();
    await world.startSim();
  });
  after(() => world.tearDown());

  it('an idle engine exits soon after SIGTERM, not at the end of its drain deadline', async () => {
    const engine = await world.startEngine({ TF_DRAIN_TIMEOUT_MS: '10000', TF_LOG_LEVEL: 'info' });
    // idle: every loop is waiting on its timer or its blocking read
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    engine.kill('SIGTERM');
    const code = await exitWithin(engine.exited, 3000);
    const tookMs = Date.now() - t0;
    assert.equal(code, 0, `exit after SIGTERM: ${code} (${tookMs} ms)`);
    assert.match(engine.stderr, /settlement engine stopped/);
  });
});
