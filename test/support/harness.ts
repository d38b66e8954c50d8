import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { createSimAdmin, type FaultSettings, type SimAdmin } from '../../src/clients/sim-admin.js';
import { type Config, loadConfig } from '../../src/config.js';
import { copyChangePublisher } from '../../src/copytrade/copy-changes.js';
import { createPool, type Pool } from '../../src/infra/mysql/client.js';
import { migrateDatabase } from '../../src/infra/mysql/migrate.js';
import { connectRedis, deleteKeys, type RedisConnection } from '../../src/infra/redis.js';
import type { CopyRows } from '../../src/load/copy-world.js';
import { runningEngines } from '../../src/settlement/steps/presence.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const MYSQL_URL = process.env.TF_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.TF_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * A world of its own for one test file: its own databases, Redis key prefix and simulator
 * port, handed to child processes as TF_* variables, and removed afterwards.
 */
export class TestWorld {
  readonly id = randomBytes(4).toString('hex');
  env: Record<string, string> = {};
  config!: Config;
  engineDb!: Pool;
  counterDb!: Pool;
  private readonly children = new Set<Child>();
  private readonly admins: SimAdmin[] = [];
  private publisher?: RedisConnection;

  async setUp(overrides: Record<string, string> = {}): Promise<this> {
    const port = await freePort();
    const sim = `http://127.0.0.1:${port}`;
    this.env = {
      TF_MYSQL_URL: MYSQL_URL,
      TF_REDIS_URL: REDIS_URL,
      TF_ENGINE_DB: `tf_t_${this.id}_e`,
      TF_COUNTER_DB: `tf_t_${this.id}_c`,
      TF_REDIS_PREFIX: `tft${this.id}`,
      TF_SIM_PORT: String(port),
      TF_COUNTER_URL: sim,
      TF_FUNDING_URL: sim,
      TF_TRADE_URL: sim,
      TF_LOG_LEVEL: 'warn',
      TF_POLL_INTERVAL_MS: '20',
      // several engines may run at once; a test that scrapes them gives them a port
      TF_OPS_PORT: '0',
      TF_COPY_OPS_PORT: '0',
      ...overrides,
    };
    this.config = loadConfig(this.env);
    await migrateDatabase(MYSQL_URL, this.config.engineDb, 'engine');
    await migrateDatabase(this.config.counterMysqlUrl, this.config.counterDb, 'counter');
    this.engineDb = createPool(MYSQL_URL, this.config.engineDb, { connections: 4 });
    this.counterDb = createPool(this.config.counterMysqlUrl, this.config.counterDb, { connections: 2 });
    return this;
  }

  /** This world's copy-trading rows, written as copy-world.ts writes them (each change announced). */
  copyRows(): CopyRows {
    this.publisher ??= connectRedis(this.env.TF_REDIS_URL as string);
    return {
      db: this.engineDb,
      publish: copyChangePublisher(this.publisher, this.config.redisPrefix),
      secretKey: this.config.secretKey,
    };
  }

  /** Starts `tradeflow sim` in this world, optionally with faults; resolves once it answers. */
  async startSim(faults?: FaultSettings): Promise<SimAdmin> {
    this.spawn(['sim']);
    const admin = createSimAdmin(this.config.counterUrl);
    this.admins.push(admin);
    await waitFor('simulator', () => admin.getFaults().then(() => true), 20_000);
    if (faults) await admin.setFaults(faults);
    return admin;
  }

  /** Starts `tradeflow start` and waits until it has started all its workers (its presence key). */
  async startEngine(env: Record<string, string> = {}): Promise<Child> {
    const engine = this.spawn(['start'], env);
    await waitFor('the engine to start', async () => {
      if (engine.proc.exitCode !== null) throw new Error(`engine exited: ${engine.stderr.slice(-500)}`);
      return (await this.runningEngines()).length > 0;
    });
    return engine;
  }

  /** Consumer names of the engines running in this world (their presence keys). */
  async runningEngines(): Promise<string[]> {
    const redis = connectRedis(this.env.TF_REDIS_URL as string);
    try {
      return await runningEngines(redis, this.config.redisPrefix);
    } finally {
      redis.disconnect();
    }
  }

  /** Runs `tradeflow <args>` as a child process in this world. */
  spawn(args: string[], env: Record<string, string> = {}): Child {
    const child = new Child(args, { ...process.env, ...this.env, ...env } as Record<string, string>);
    this.children.add(child);
    return child;
  }

  /** Runs `tradeflow <args>` to completion; returns exit code and output. */
  async run(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const c = this.spawn(args, env);
    const code = await c.exited;
    return { code, stdout: c.stdout, stderr: c.stderr };
  }

  /**
   * Stops what this world started and removes its databases and keys. Safe whatever set-up
   * got to, so a file whose `before` failed still ends: nothing it opened stays open.
   */
  async tearDown(): Promise<void> {
    await Promise.allSettled(this.admins.map((a) => a.close()));
    this.publisher?.disconnect();
    for (const c of this.children) c.kill('SIGKILL');
    await Promise.allSettled([...this.children].map((c) => c.exited));
    await Promise.allSettled([this.engineDb?.end(), this.counterDb?.end()]);
    if (!this.config) return;
    const drop = async (server: string, db: string) => {
      const admin = await mysql.createConnection(server);
      try {
        await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
      } finally {
        await admin.end();
      }
    };
    await drop(MYSQL_URL, this.config.engineDb);
    const counter = drop(this.config.counterMysqlUrl, this.config.counterDb);
    // a counter on a server of its own may be gone already (the test stopped that server)
    await (this.config.counterMysqlUrl === MYSQL_URL ? counter : counter.catch(() => undefined));
    const redis = connectRedis(this.env.TF_REDIS_URL as string);
    try {
      await deleteKeys(redis, this.config.redisPrefix);
    } finally {
      redis.disconnect();
    }
  }
}

export class Child {
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string>) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: root, env });
    this.proc.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
  );
}
