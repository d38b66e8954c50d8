/**
 * The campaign's own Redis and MariaDB, children of this process on spare ports, the
 * database in a temporary data directory: restarting them or FLUSHALL touches nothing else
 * on the machine. Every start is bounded; `stop` ends them and removes the directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { freePort } from '../../test/support/harness.js';

const START_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process whose exit can be awaited; stderr kept (the tail) for a failed start. */
class Daemon {
  private proc: ChildProcess | null = null;
  private log = '';

  constructor(
    private readonly name: string,
    private readonly cmd: string,
    private readonly args: string[],
  ) {}

  private ended = false;

  start(): void {
    // a restart still under way when the campaign stops must not bring it back
    if (this.ended) throw this.failure('stopped for good');
    const proc = spawn(this.cmd, this.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // however this process ends, the server ends with it
    const onExit = () => proc.kill('SIGKILL');
    process.once('exit', onExit);
    proc.once('exit', () => process.off('exit', onExit));
    proc.stderr?.on('data', (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-2000);
    });
    this.proc = proc;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  exited(): boolean {
    return !this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  /** Stops it and refuses to start it again. */
  end(): Promise<void> {
    this.ended = true;
    return this.stop('SIGKILL');
  }

  /** Sends `signal` and waits for the exit (SIGKILL after 20 s). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || this.exited()) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(t);
  }

  failure(what: string): Error {
    return new Error(`${this.name}: ${what}; its last output: ${this.log.slice(-600)}`);
  }
}

/** Runs restarts of one server one after the other: two at once would start two servers on one port. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

async function until(what: Daemon, probe: () => Promise<boolean>, label: string): Promise<void> {
  const deadline = Date.now() + START_MS;
  while (Date.now() < deadline) {
    if (what.exited()) throw what.failure(`exited during ${label}`);
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw what.failure(`not ${label} within ${START_MS / 1000} s`);
}

export class OwnRedis {
  private readonly serial = new Serial();

  private constructor(
    private readonly daemon: Daemon,
    readonly url: string,
  ) {}

  static async start(): Promise<OwnRedis> {
    const port = await freePort();
    const daemon = new Daemon('redis-server', 'redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ]);
    const r = new OwnRedis(daemon, `redis://127.0.0.1:${port}`);
    await r.up();
    return r;
  }

  private async up(): Promise<void> {
    this.daemon.start();
    await until(this.daemon, () => this.ping(), 'answering PING');
  }

  private async ping(): Promise<boolean> {
    const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } finally {
      c.disconnect();
    }
  }

  /** Everything gone: between runs, and as a fault. */
  /** Starts it again if a fault left it down (a restart that did not come up). */
  ensureUp(): Promise<void> {
    return this.serial.run(async () => {
      if (this.daemon.exited()) await this.up();
    });
  }

  flushAll(): Promise<void> {
    return this.serial.run(() => this.flush());
  }

  private async flush(): Promise<void> {
    const c = new Redis(this.url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    c.on('error', () => undefined);
    try {
      await c.flushall();
    } finally {
      c.disconnect();
    }
  }

  /** kill -9 and start again: no persistence, so it comes back empty. `downMs` it stays away. */
  restart(downMs: number): Promise<void> {
    return this.serial.run(async () => {
      await this.daemon.stop('SIGKILL');
      await sleep(downMs);
      await this.up();
    });
  }

  stop(): Promise<void> {
    return this.daemon.end();
  }
}

export class OwnMariaDb {
  private readonly serial = new Serial();

  private constructor(
    private readonly daemon: Daemon,
    private readonly dir: string,
    readonly url: string,
  ) {}

  static async start(): Promise<OwnMariaDb> {
    const dir = await mkdtemp(join(tmpdir(), 'tf-chaos-mariadb-'));
    try {
      const data = join(dir, 'data');
      await install(data);
      const port = await freePort();
      const daemon = new Daemon('mariadbd', 'mariadbd', [
        '--no-defaults',
        `--datadir=${data}`,
        `--port=${port}`,
        `--socket=${join(dir, 'sock')}`,
        `--pid-file=${join(dir, 'pid')}`,
        '--bind-address=127.0.0.1',
        '--user=root',
        '--skip-name-resolve',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=128M',
        '--max-connections=500',
      ]);
      const db = new OwnMariaDb(daemon, dir, `mysql://root@127.0.0.1:${port}`);
      await db.up();
      return db;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private async up(): Promise<void> {
    this.daemon.start();
    await until(
      this.daemon,
      async () => {
        const c = await mysql.createConnection({ uri: this.url, connectTimeout: 1000 });
        await c.end();
        return true;
      },
      'accepting connections',
    );
  }

  /** SIGKILL (a crash, InnoDB recovers on start) or SIGTERM (a clean shutdown), then the same data directory again. */
  /** Starts it again if a fault left it down (a restart that did not come up). */
  ensureUp(): Promise<void> {
    return this.serial.run(async () => {
      if (this.daemon.exited()) await this.up();
    });
  }

  restart(how: 'SIGKILL' | 'SIGTERM', downMs: number): Promise<void> {
    return this.serial.run(async () => {
      await this.daemon.stop(how);
      await sleep(downMs);
      await this.up();
    });
  }

  async stop(): Promise<void> {
    await this.daemon.end();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function install(datadir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        '--user=root',
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    p.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-1000);
    });
    const t = setTimeout(() => p.kill('SIGKILL'), START_MS);
    p.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    p.once('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve();
      else reject(new Error(`mariadb-install-db exited ${code}: ${err}`));
    });
  });
}
