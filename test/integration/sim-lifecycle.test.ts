import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDownstream, DownstreamError } from '../../src/clients/downstream.js';
import { createSimAdmin } from '../../src/clients/sim-admin.js';
import { createLogger } from '../../src/infra/log.js';
import { type SimOptions, startSim } from '../../src/sim/server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MYSQL_URL = process.env.TF_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

// No counter listing is called here, so the (lazy) MySQL pool never connects.
const options = (over: Partial<SimOptions> = {}): SimOptions => ({
  host: '127.0.0.1',
  port: 0,
  feeRate: '0.001',
  faults: {},
  mysqlUrl: MYSQL_URL,
  counterDb: 'tf_test_sim_unused',
  logger: createLogger('silent'),
  ...over,
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('sim lifecycle', () => {
  it('close() is quick even with a held response and idle keep-alive connections', async () => {
    const sim = await startSim(
      options({ faults: { 'counter/swap': { timeoutRate: 1, timeoutHoldMs: 60_000 } } }),
    );
    const url = `http://127.0.0.1:${sim.port}`;
    const client = createDownstream({
      counterUrl: url,
      fundingUrl: url,
      tradeUrl: url,
      timeoutMs: 30_000,
      connections: 4,
    });
    const admin = createSimAdmin(url);
    try {
      await admin.getFaults(); // leaves an idle keep-alive connection behind
      const held = client
        .counterSwap({
          key: 'h:1',
          orderId: 'h',
          userId: 'u',
          flow: 'open',
          asset: 'ETH',
          qty: '1',
          usdt: '1',
        })
        .then(
          () => assert.fail('the held call should not succeed'),
          (e: unknown) => e,
        );
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await sim.close();
      const err = await held;
      assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
      assert.ok(err instanceof DownstreamError);
      assert.equal(err.code, 'UNAVAILABLE');
      // and nothing listens any more
      const after = await admin.getFaults().then(
        () => assert.fail('the closed simulator answered'),
        (e: unknown) => e,
      );
      assert.ok(after instanceof DownstreamError && after.code === 'UNAVAILABLE');
      await sim.close(); // a second close is harmless
    } finally {
      await Promise.all([client.close(), admin.close()]);
    }
  });

  it('refuses a bad fee rate, bad fault settings and a port in use', async () => {
    await assert.rejects(
      startSim(options({ feeRate: '1' })),
      /feeRate: expected a decimal from 0 to below 1/,
    );
    await assert.rejects(startSim(options({ feeRate: '-0.1' })), /feeRate/);
    await assert.rejects(
      startSim(options({ faults: { '*': { errorRate: 3 } } })),
      /faults\.\*\.errorRate: expected a number from 0 to 1/,
    );
    const sim = await startSim(options());
    try {
      await assert.rejects(
        startSim(options({ port: sim.port })),
        new RegExp(`cannot listen on 127.0.0.1:${sim.port}`),
      );
    } finally {
      await sim.close();
    }
  });

  /** runSim as `tradeflow sim` runs it, in a child process. */
  function runSimChild(env: Record<string, string>) {
    const script = [
      "import { loadConfig } from './src/config.ts';",
      "import { createLogger } from './src/infra/log.ts';",
      "import { runSim } from './src/sim/server.ts';",
      'const config = loadConfig();',
      'await runSim(config, createLogger(config.logLevel));',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, TF_LOG_LEVEL: 'info', TF_MYSQL_URL: MYSQL_URL, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, stderr: () => stderr };
  }

  it('runSim serves until SIGTERM, then stops and exits 0', async () => {
    const port = await freePort();
    const { child, exited, stderr } = runSimChild({
      TF_SIM_PORT: String(port),
      TF_SIM_FAULTS: '{"*":{"latencyMs":1}}',
    });
    try {
      const deadline = Date.now() + 20_000;
      while (!stderr().includes('simulator listening')) {
        assert.ok(Date.now() < deadline, `the simulator did not start: ${stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const admin = createSimAdmin(`http://127.0.0.1:${port}`);
      try {
        assert.deepEqual(await admin.getFaults(), { '*': { latencyMs: 1 } });
      } finally {
        await admin.close();
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(stderr(), /simulator stopped/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('runSim names TF_SIM_FAULTS when it is not valid', async () => {
    const { exited, stderr } = runSimChild({ TF_SIM_PORT: String(await freePort()), TF_SIM_FAULTS: '{"*":' });
    assert.notEqual(await exited, 0);
    assert.match(stderr(), /TF_SIM_FAULTS: faults: not valid JSON/);
  });
});
