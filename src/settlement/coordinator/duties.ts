import type { PoolConnection } from 'mysql2/promise';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { every } from '../../infra/periodic.js';
import { type Fence, FencedError } from '../../roles/fence.js';

const RECORD =
  'INSERT INTO coordinator_run (duty, token, holder, outcome, items, started_ms, finished_ms) VALUES (?, ?, ?, ?, ?, ?, ?)';

/** Runs `write` in the fenced transaction of the current token; it returns how many items it handled. */
export type DutyWrite = (write: (conn: PoolConnection) => Promise<number>) => Promise<number>;

/**
 * Periodic work of the coordinator role. A run reads what it needs, then makes its MySQL
 * writes through `write` once; a run that does not call it is fenced and logged all the
 * same, so every run leaves a row in `coordinator_run`.
 */
export interface Duty {
  name: string;
  intervalMs: number;
  run(write: DutyWrite): Promise<void>;
}

/**
 * Runs the coordinator's duties while this process holds the coordinator role: each on its own timer, one run
 * at a time, every run that wrote recorded in `coordinator_run` inside the transaction that
 * checked its fencing token (OK), or after it was refused (REFUSED; a run that failed
 * otherwise is only logged). A refusal means a newer coordinator exists: `onFenced` ends
 * the term that token belonged to.
 */
export class DutyRunner {
  private tasks: { stop(): Promise<void> }[] = [];
  private stopping: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: Pool,
    private readonly fence: Fence,
    private readonly holder: string,
    private readonly duties: Duty[],
    private readonly onFenced: (token: number) => void,
    private readonly log: Logger,
  ) {}

  /** Starts the duties under `token` (after any run of an earlier term has ended). */
  start(token: number): void {
    const previous = this.stopping;
    this.tasks = this.duties.map((duty) =>
      every(
        duty.intervalMs,
        () => previous.then(() => this.runOnce(duty, token)),
        (err) => this.log.error({ err, duty: duty.name }, 'coordinator duty failed'),
      ),
    );
  }

  /** Stops starting runs; a run in progress finishes (its writes are fenced). */
  yield(): Promise<void> {
    const tasks = this.tasks;
    this.tasks = [];
    this.stopping = Promise.all(tasks.map((t) => t.stop())).then(() => undefined);
    return this.stopping;
  }

  /** One run of `duty` under `token`; resolves whether or not the fence let it write. */
  async runOnce(duty: Duty, token: number): Promise<void> {
    const startedMs = Date.now();
    let written = false;
    const write: DutyWrite = async (apply) => {
      if (written) throw new Error(`duty ${duty.name} wrote twice in one run`);
      written = true;
      return this.fence.run(token, async (conn) => {
        const items = await apply(conn);
        await conn.query(RECORD, [duty.name, token, this.holder, 'OK', items, startedMs, Date.now()]);
        return items;
      });
    };
    try {
      await duty.run(write);
      if (!written) await write(async () => 0);
    } catch (err) {
      if (!(err instanceof FencedError)) throw err;
      this.onFenced(token);
      this.log.warn({ duty: duty.name, token, latest: err.latest }, 'coordinator write refused: stale token');
      await this.pool.query(RECORD, [duty.name, token, this.holder, 'REFUSED', 0, startedMs, Date.now()]);
    }
  }
}
