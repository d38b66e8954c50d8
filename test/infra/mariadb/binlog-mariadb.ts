import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { freePort, waitFor } from '../../support/harness.js';

/** The guard that ends a server when the test's Node process is gone (see the script). */
export const ORPHAN_GUARD = fileURLToPath(new URL('../orphan-guard.sh', import.meta.url));
/** The same grants and database as compose's MySQL gets (compose/mysql-init.sql). */
const INIT_SQL = fileURLToPath(new URL('../../../compose/mysql-init.sql', import.meta.url));

export interface BinlogMariaDbOptions {
  serverId?: number;
  /** each wait (install, start, stop) gives up after this */
  timeoutMs?: number;
}

/**
 * A MariaDB of the test's own, as a CDC process wants its source: binlog on, ROW format, FULL
 * row image, a server id, and the replication user canal/canal (compose/mysql-init.sql, run as
 * the server's --init-file). Its data directory, socket and pid file are in a temporary
 * directory, its port a free loopback port. We run as root, so mariadbd runs with --user=root.
 *
 * start() returns when the server answers a query over TCP; if anything fails it stops what it
 * started and throws. stop() shuts the server down cleanly (SIGTERM, then SIGKILL after the
 * timeout) and removes the directory. The server runs under orphan-guard.sh, which ends it
 * when this Node process dies.
 */
export class BinlogMariaDb {
  private proc: ChildProcess | undefined;
  private dir: string | undefined;
  port = 0;
  /** milliseconds from start() to the first answered query, install-db included */
  startupMs = 0;

  constructor(private readonly opts: BinlogMariaDbOptions = {}) {}

  /** mysql://root@127.0.0.1:PORT, no database: what migrateDatabase and TF_MYSQL_URL take. */
  get url(): string {
    return `mysql://root@127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const began = Date.now();
    const timeoutMs = this.opts.timeoutMs ?? 60_000;
    try {
      this.dir = mkdtempSync(join(tmpdir(), 'tf-binlog-mariadb-'));
      const data = join(this.dir, 'data');
      mkdirSync(data);
      const install = spawnSync(
        'mariadb-install-db',
        [
          '--no-defaults',
          `--datadir=${data}`,
          '--user=root',
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          '--skip-name-resolve',
        ],
        { encoding: 'utf8', timeout: timeoutMs },
      );
      if (install.status !== 0)
        throw new Error(`mariadb-install-db failed (${install.status ?? install.signal}): ${install.stderr}`);
      this.port = await freePort();
      const args = [
        '--no-defaults',
        `--datadir=${data}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(this.dir, 'mysqld.sock')}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        `--log-error=${join(this.dir, 'error.log')}`,
        `--tmpdir=${this.dir}`,
        '--user=root',
        '--skip-name-resolve',
        `--server-id=${this.opts.serverId ?? 1}`,
        `--log-bin=${join(this.dir, 'data', 'mysql-bin')}`,
        '--binlog-format=ROW',
        '--binlog-row-image=FULL',
        `--init-file=${INIT_SQL}`,
        // small: it only holds a test's rows, on a 2-core machine shared with others
        '--innodb-buffer-pool-size=32M',
        '--innodb-log-file-size=16M',
        '--performance-schema=OFF',
      ];
      // its own process group: stop() and a failed start end the guard and the server together
      this.proc = spawn(ORPHAN_GUARD, [String(process.pid), 'mariadbd', ...args], {
        stdio: 'ignore',
        detached: true,
      });
      const proc = this.proc;
      await waitFor(
        `MariaDB on ${this.port} to answer`,
        async () => {
          if (proc.exitCode !== null) throw new Error(`mariadbd exited ${proc.exitCode}: ${this.errorLog()}`);
          const c = await mysql.createConnection({ host: '127.0.0.1', port: this.port, user: 'root' });
          try {
            await c.query('SELECT 1');
            return true;
          } finally {
            await c.end();
          }
        },
        timeoutMs,
        200,
      );
      this.startupMs = Date.now() - began;
      return this;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The server's error log so far (for a failure's message). */
  errorLog(): string {
    if (!this.dir) return '';
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8').slice(-2000);
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      signalGroup(proc.pid, 'SIGTERM');
      const timeoutMs = this.opts.timeoutMs ?? 60_000;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      if ((await Promise.race([exited, late])) === 'late') {
        signalGroup(proc.pid, 'SIGKILL');
        await exited;
      }
      clearTimeout(timer);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** Signals a process group (the guard leads its own); gone already is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
