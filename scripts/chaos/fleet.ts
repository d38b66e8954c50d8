/**
 * The processes of one run: `tradeflow sim`, and several engine processes of one kind
 * (`start` or `copy`), compiled (dist/), each logging to its own file in the run's log
 * directory. An engine killed by the campaign is replaced, as a supervisor would; an engine
 * that exits by itself (a copy process that lost its role exits 1) is replaced too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../src/infra/mysql/client.js';
import type { Rng } from './rng.js';

export interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

/** every process of every open fleet, so an interrupted campaign can end them all */
const everyProc = new Set<ChildProcess>();

/** SIGKILL to every process any fleet started that still runs (the campaign was interrupted). */
export function killEveryFleet(): void {
  for (const c of everyProc) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
}

export class Fleet {
  private readonly engines: Proc[] = [];
  private sim: Proc | null = null;
  private serial = 0;
  private closing = false;
  /** exits the campaign did not cause, with their codes */
  readonly unexpectedExits: string[] = [];
  private readonly expected = new Set<number>();

  constructor(
    private readonly command: 'start' | 'copy',
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {}

  startSim(): void {
    this.sim = this.spawn('sim', 'sim');
  }

  startEngines(n: number): void {
    for (let i = 0; i < n; i++) this.engines.push(this.startEngine());
  }

  private startEngine(): Proc {
    const p = this.spawn(this.command, `${this.command}-${this.serial++}`);
    p.exited.then(() => {
      const pid = p.child.pid ?? -1;
      if (this.closing) return;
      const i = this.engines.indexOf(p);
      if (i < 0) return;
      if (!this.expected.delete(pid)) {
        this.unexpectedExits.push(`${p.name} (pid ${pid}) exited ${p.child.exitCode ?? p.child.signalCode}`);
      }
      // a supervisor's restart, a moment later
      setTimeout(() => {
        if (!this.closing) this.engines[i] = this.startEngine();
      }, 500);
    });
    return p;
  }

  private spawn(command: string, name: string): Proc {
    const log: WriteStream = createWriteStream(join(this.logDir, `${name}.log`));
    const child = spawn(process.execPath, ['dist/cli.js', command], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    everyProc.add(child);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        everyProc.delete(child);
        log.end(`\n[chaos] exited code=${code} signal=${signal}\n`);
        resolve();
      }),
    );
    return { name, child, exited };
  }

  running(): Proc[] {
    return this.engines.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  }

  /**
   * A victim: the role holder (from the fencing table) or another process, half each; any
   * running one when the holder is not known (MySQL down, no holder yet).
   */
  async victim(rng: Rng, db: Pool, role: string): Promise<{ proc: Proc; holds: boolean } | null> {
    const alive = this.running();
    if (alive.length === 0) return null;
    const wantHolder = rng.next() < 0.5;
    const holder = await db
      .query<RowDataPacket[]>('SELECT holder FROM coordinator_fence WHERE name=?', [role])
      .then(([rows]) => String(rows[0]?.holder ?? ''))
      .catch(() => '');
    const isHolder = (p: Proc) => holder !== '' && holder.includes(`-${p.child.pid}-`);
    const pool = alive.filter((p) => isHolder(p) === wantHolder);
    const proc = rng.pick(pool.length ? pool : alive);
    return { proc, holds: isHolder(proc) };
  }

  kill9(p: Proc): void {
    if (p.child.pid !== undefined) this.expected.add(p.child.pid);
    p.child.kill('SIGKILL');
  }

  async pause(p: Proc, ms: number): Promise<void> {
    p.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, ms));
    p.child.kill('SIGCONT');
  }

  /** Ends every process (SIGCONT first, in case one is paused), within ~15 s. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.engines, ...(this.sim ? [this.sim] : [])];
    for (const p of all) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGCONT');
      p.child.kill('SIGTERM');
    }
    const t = setTimeout(() => {
      for (const p of all) p.child.kill('SIGKILL');
    }, 10_000);
    await Promise.all(all.map((p) => p.exited));
    clearTimeout(t);
  }

  simAlive(): boolean {
    return !!this.sim && this.sim.child.exitCode === null && this.sim.child.signalCode === null;
  }
}
