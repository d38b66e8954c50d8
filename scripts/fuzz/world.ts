/**
 * The fuzz's own world: its databases and Redis prefix, a lead trader with copiers, and the
 * simulator, the settlement engine (ops server, Bull Board) and the copy engine as child
 * processes that are watched: an exit is recorded with the tail of its stderr and the
 * process started again, so that one crash does not hide every later defect.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { createSimAdmin } from '../../src/clients/sim-admin.js';
import { loadConfig } from '../../src/config.js';
import { copyChangePublisher } from '../../src/copytrade/copy-changes.js';
import { createPool, type Pool } from '../../src/infra/mysql/client.js';
import { deleteKeys } from '../../src/infra/redis.js';
import { follow, seedCopiers, seedTrader } from '../../src/load/copy-world.js';
import { freePort } from '../../test/support/harness.js';
import {
  dropDatabases,
  freshDatabases,
  MYSQL_URL,
  REDIS_URL,
  runEnv,
  waitForSim,
} from '../bench/processes.js';

export const PREFIX = 'tffuzz';
const ENGINE_DB = 'tf_fuzz';
const COUNTER_DB = 'tf_fuzz_c';
export const BOARD_TOKEN = 'fuzz-board-token-0123456789';
export const LEAD = 'fz-lead';
export const OTHER_LEAD = 'fz-other';
/** follows LEAD and is never touched by the fuzz: the final signal must reach it */
export const PROBE = 'fz-probe';
/** copiers whose tokens the fuzz uses */
export const COPIERS = ['fz-c1', 'fz-c2', 'fz-c3'];
export const tokenOf = (copierId: string) => `token-${copierId}`;

export type ProcName = 'sim' | 'settle' | 'copy';

export interface Exit {
  proc: ProcName;
  code: number | null;
  signal: string | null;
  atMs: number;
  stderrTail: string;
}

class Watched {
  child: ChildProcess | null = null;
  alive = false;
  stderr = '';
  private stopping = false;

  constructor(
    readonly name: ProcName,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly onExit: (e: Exit) => void,
  ) {}

  start(): void {
    this.stderr = '';
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...this.args], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = c;
    this.alive = true;
    c.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-4000);
    });
    c.once('exit', (code, signal) => {
      this.alive = false;
      if (this.stopping) return;
      this.onExit({ proc: this.name, code, signal, atMs: Date.now(), stderrTail: this.stderr.slice(-1500) });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || !this.alive) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}

export interface Ports {
  sim: number;
  ingress: number;
  api: number;
  ops: number;
  board: number;
}

export class World {
  readonly exits: Exit[] = [];
  private procs = new Map<ProcName, Watched>();
  private redis: Redis | null = null;
  db: Pool | null = null;
  exchange: ExchangeClient | null = null;
  secrets = new Map<string, { apiKey: string; secret: string }>();
  /** called with each exit as it happens */
  onExit: (e: Exit) => void = () => undefined;

  private constructor(readonly ports: Ports) {}

  static async create(say: (s: string) => void): Promise<World> {
    const ports = {
      sim: await freePort(),
      ingress: await freePort(),
      api: await freePort(),
      ops: await freePort(),
      board: await freePort(),
    };
    const w = new World(ports);
    try {
      await w.setUp(say);
    } catch (err) {
      await w.tearDown();
      throw err;
    }
    return w;
  }

  private async setUp(say: (s: string) => void): Promise<void> {
    const env = {
      ...runEnv(PREFIX, this.ports.sim),
      TF_ENGINE_DB: ENGINE_DB,
      TF_COUNTER_DB: COUNTER_DB,
      TF_OPS_PORT: String(this.ports.ops),
      TF_BOARD_PORT: String(this.ports.board),
      TF_BOARD_AUTH: `token:${BOARD_TOKEN}`,
      TF_COPY_INGRESS_PORT: String(this.ports.ingress),
      TF_COPY_API_PORT: String(this.ports.api),
      // a restarted copy engine takes the fan-out role over quickly
      TF_COORDINATOR_TTL_MS: '1000',
      TF_LOG_LEVEL: 'error',
      // the fuzz sends thousands of bad tokens and keys from 127.0.0.1: left at its default (20 a
      // minute) the limiter would answer nearly every input 429 before it reached what it tests
      // (the limiter itself: test/integration/copy-api-abuse.test.ts)
      TF_COPY_AUTH_MAX_FAILURES: '1000000',
    };
    this.redis = new Redis(REDIS_URL);
    await deleteKeys(this.redis, PREFIX);
    await freshDatabases(MYSQL_URL, ENGINE_DB, COUNTER_DB);
    this.db = createPool(MYSQL_URL, ENGINE_DB, { connections: 4 });
    const sim = `http://127.0.0.1:${this.ports.sim}`;
    const admin = createSimAdmin(sim);
    this.exchange = createExchangeClient(sim, { connections: 4 });
    const watch = (name: ProcName, args: string[]) => {
      const p = new Watched(name, args, env, (e) => {
        this.exits.push(e);
        this.onExit(e);
      });
      this.procs.set(name, p);
      p.start();
    };
    watch('sim', ['sim']);
    try {
      await waitForSim(admin);
    } finally {
      await admin.close();
    }
    // the engines inherit this process's environment, TF_SECRET_KEY with it
    const rows = {
      db: this.db,
      publish: copyChangePublisher(this.redis, PREFIX),
      secretKey: loadConfig().secretKey,
    };
    for (const t of [LEAD, OTHER_LEAD]) {
      const { apiKey, secret } = await seedTrader(rows, this.exchange, t);
      this.secrets.set(t, { apiKey, secret });
    }
    await seedCopiers(
      rows,
      this.exchange,
      [PROBE, ...COPIERS].map((c) => ({ follow: follow(c, LEAD), usdt: '10000000' })),
    );
    say('seeded 2 lead traders and 4 copiers');
    watch('settle', ['start', '--board']);
    watch('copy', ['copy']);
    await this.ready('settle');
    await this.ready('copy');
  }

  /** Waits until the process's ports accept connections (the copy engine: once it holds the fan-out role). */
  async ready(name: ProcName, timeoutMs = 60_000): Promise<void> {
    const ports =
      name === 'copy'
        ? [this.ports.ingress, this.ports.api]
        : name === 'settle'
          ? [this.ports.ops, this.ports.board]
          : [this.ports.sim];
    for (const until = Date.now() + timeoutMs; ; ) {
      const up = await Promise.all(ports.map(accepts));
      if (up.every(Boolean)) return;
      if (!this.alive(name))
        throw new Error(`${name} exited while starting: ${this.procs.get(name)?.stderr.slice(-800)}`);
      if (Date.now() > until)
        throw new Error(
          `${name} did not open ports ${ports.join(', ')} in ${timeoutMs} ms: ${this.procs.get(name)?.stderr.slice(-800)}`,
        );
      await sleep(100);
    }
  }

  alive(name: ProcName): boolean {
    return this.procs.get(name)?.alive ?? false;
  }

  /** Starts an exited process again and waits for its ports. */
  async restart(name: ProcName): Promise<void> {
    this.procs.get(name)?.start();
    await this.ready(name);
  }

  /** Whether the fan-out recorded the signal and placed the probe copier's order for it. */
  async copied(signalKey: string): Promise<boolean> {
    const [rows] = await (this.db as Pool).query<RowDataPacket[]>(
      'SELECT 1 FROM copy_order o JOIN copy_signal s ON s.signal_key=o.signal_key WHERE o.signal_key=? AND o.copier_id=? AND s.done_ms IS NOT NULL',
      [signalKey, PROBE],
    );
    return rows.length > 0;
  }

  async tearDown(): Promise<void> {
    for (const name of ['copy', 'settle', 'sim'] as const)
      await this.procs
        .get(name)
        ?.stop()
        .catch(() => undefined);
    await this.exchange?.close().catch(() => undefined);
    await this.db?.end().catch(() => undefined);
    await dropDatabases(MYSQL_URL, ENGINE_DB, COUNTER_DB).catch(() => undefined);
    if (this.redis) {
      await deleteKeys(this.redis, PREFIX).catch(() => undefined);
      this.redis.disconnect();
    }
  }
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
