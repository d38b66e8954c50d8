import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `body` in a fresh process with the guard installed; its own handlers must not leak into the test runner. */
function withGuard(body: string) {
  const script = `
    import { register } from 'prom-client';
    import { createLogger } from './src/infra/log.ts';
    import { installProcessGuard } from './src/infra/process-guard.ts';
    installProcessGuard(createLogger('info', 'guard-test'));
    ${body}
  `;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('process guard', () => {
  it('an unhandled rejection is logged with its stack and counted, and the process goes on', () => {
    const r = withGuard(`
      Promise.reject(new Error('nobody awaited me'));
      setTimeout(async () => {
        process.stdout.write((await register.getSingleMetricAsString('tradeflow_unhandled_rejections_total')) + '\\n');
        process.stdout.write('still running\\n');
      }, 50);
    `);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^tradeflow_unhandled_rejections_total 1$/m);
    assert.match(r.stdout, /still running/);
    const line = JSON.parse(r.stderr.split('\n').find((l) => l.includes('unhandled rejection')) ?? '{}');
    assert.equal(line.err.message, 'nobody awaited me');
    assert.match(line.err.stack, /nobody awaited me\n\s+at /);
  });

  it('an uncaught exception is logged and ends the process with 1', () => {
    const r = withGuard(`
      setTimeout(() => { throw new Error('thrown from a callback'); }, 10);
      setTimeout(() => process.stdout.write('went on\\n'), 200);
    `);
    assert.equal(r.status, 1);
    assert.doesNotMatch(r.stdout, /went on/);
    assert.match(r.stderr, /uncaught exception/);
    assert.match(r.stderr, /thrown from a callback/);
    assert.match(r.stderr, /"level":60/);
  });
});
