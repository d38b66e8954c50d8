import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BOUND_MS = 60_000;

/** Runs the fixture as `node --test` would run a test file; resolves with how it ended, or 'hung'. */
function runFixture(failAt: string): Promise<{ code: number | null; out: string } | 'hung'> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', 'test/support/failing-setup.fixture.ts'],
      // without the parent runner's NODE_TEST_CONTEXT: the child reports as a file run on its own
      { cwd: root, env: { ...process.env, NODE_TEST_CONTEXT: undefined, FAIL_AT: failAt } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('hung');
    }, BOUND_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('a test file whose set-up fails ends, and stops what it started', () => {
  for (const failAt of ['before-setup', 'after-sim']) {
    it(`fails at ${failAt}: ends within ${BOUND_MS / 1000} s with the set-up's error`, async () => {
      const r = await runFixture(failAt);
      assert.notEqual(r, 'hung', 'the test file did not end');
      if (r === 'hung') return;
      assert.notEqual(r.code, 0);
      assert.match(r.out, new RegExp(`set-up failed on purpose \\(${failAt}\\)`));
      assert.doesNotMatch(r.out, /no test of this file may run/);
    });
  }
});
