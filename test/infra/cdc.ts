import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/harness.js';
import { ORPHAN_GUARD, signalGroup } from './mariadb/binlog-mariadb.js';

const CANAL_DIR = fileURLToPath(new URL('./canal/', import.meta.url));
/** the configuration compose mounts too (docker-compose.yml, service canal) */
export const CANAL_CONF = join(CANAL_DIR, 'conf');
const CANAL_LIB = join(CANAL_DIR, 'target', 'lib');
export const CANAL_VERSION = '1.1.4';

export interface CanalOptions {
  /** host:port of the MySQL/MariaDB whose binlog is read */
  master: string;
  /** Kafka bootstrap servers, comma-separated */
  brokers: string;
  topic: string;
  /**
   * the binlog position to start from while Canal has recorded none (SHOW MASTER STATUS before
   * the first start): without it a kill in Canal's first second loses the rows since its start
   */
  startAt?: { file: string; position: number };
  /** each wait (start, stop) gives up after this */
  timeoutMs?: number;
}

/**
 * The jars of canal.deployer (test/infra/canal/pom.xml) in target/lib, fetched by Maven on
 * first use (a few minutes; afterwards Maven's cache answers).
 */
export function ensureCanalJars(): void {
  if (existsSync(join(CANAL_LIB, `canal.deployer-${CANAL_VERSION}.jar`))) return;
  const r = spawnSync('mvn', ['-q', '-B', '-f', join(CANAL_DIR, 'pom.xml'), 'package'], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`mvn package of test/infra/canal failed: ${r.stdout}${r.stderr}`);
}

/** Lines after which Canal is reading the binlog and its Kafka producer is up. */
const READY = [/COM_BINLOG_DUMP with position/, /the MQ producer: \S+ is running now/];
/** Canal logs a failed instance start and goes on running without it: that is a failed start. */
const FAILED = /start failed|ERROR c\.a\.o\.c\.p\.inbound|Exception in thread "main"/;

/**
 * A Canal server (CanalLauncher of canal.deployer 1.1.4, in Kafka mode with flat messages)
 * run from test/infra/canal/conf with the test's master, brokers and topic passed as system
 * properties. Its position file (counter/meta.dat) is in a data directory that lives from
 * the first start() to dispose(), so kill() then start() resumes where the last flush left.
 * The JVM runs under orphan-guard.sh, in its own process group.
 */
export class CanalCdc {
  private proc: ChildProcess | undefined;
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'tf-canal-'));
  /** standard output and error of the current run */
  log = '';
  /** milliseconds from the last start() to ready */
  startupMs = 0;

  constructor(private readonly opts: CanalOptions) {}

  async start(): Promise<this> {
    if (this.proc) throw new Error('Canal is running already');
    ensureCanalJars();
    const began = Date.now();
    this.log = '';
    const proc = spawn(
      ORPHAN_GUARD,
      [
        String(process.pid),
        'java',
        '-Xms64m',
        '-Xmx256m',
        `-Dcanal.file.data.dir=${this.dataDir}`,
        `-Dcanal.mq.servers=${this.opts.brokers}`,
        `-Dcanal.instance.master.address=${this.opts.master}`,
        `-Dcanal.mq.topic=${this.opts.topic}`,
        ...(this.opts.startAt
          ? [
              `-Dcanal.instance.master.journal.name=${this.opts.startAt.file}`,
              `-Dcanal.instance.master.position=${this.opts.startAt.position}`,
            ]
          : []),
        '-cp',
        `${CANAL_CONF}:${CANAL_LIB}/*`,
        'com.alibaba.otter.canal.deployer.CanalLauncher',
      ],
      { cwd: this.dataDir, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.proc = proc;
    const keep = (b: Buffer) => {
      this.log += b.toString();
      // bounded: a long run's log is not kept whole, only its tail matters for a failure
      if (this.log.length > 1_000_000) this.log = this.log.slice(-500_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    try {
      await waitFor(
        'Canal to stream the binlog into Kafka',
        async () => {
          if (proc.exitCode !== null || proc.signalCode !== null)
            throw new Error(`Canal exited (${proc.exitCode ?? proc.signalCode}): ${this.log.slice(-3000)}`);
          if (FAILED.test(this.log)) throw new Error(`Canal failed to start: ${this.log.slice(-3000)}`);
          return READY.every((r) => r.test(this.log));
        },
        this.opts.timeoutMs ?? 90_000,
        100,
      );
    } catch (err) {
      await this.kill();
      throw err;
    }
    this.startupMs = Date.now() - began;
    return this;
  }

  /** A clean stop: SIGTERM (Canal's shutdown hook flushes its position), SIGKILL past the timeout. */
  async stop(): Promise<void> {
    await this.end('SIGTERM');
  }

  /** kill -9 of the JVM (and its guard): nothing is flushed. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  async restart(): Promise<this> {
    await this.stop();
    return this.start();
  }

  /** The position file Canal resumes from (counter/meta.dat), '' when there is none. */
  positionFile(): string {
    try {
      return readFileSync(join(this.dataDir, 'counter', 'meta.dat'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops Canal and removes its data directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (proc?.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    signalGroup(proc.pid, signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.opts.timeoutMs ?? 30_000);
    });
    if ((await Promise.race([exited, late])) === 'late') {
      signalGroup(proc.pid, 'SIGKILL');
      await exited;
    }
    clearTimeout(timer);
  }
}
