import Redlock, { type Lock } from 'redlock';
import type { Logger } from '../infra/log.js';
import type { RedisClient } from '../infra/redis.js';
import type { Fence } from './fence.js';

export interface CoordinatorOptions {
  prefix: string;
  /** the role: its lock is the key `{prefix}:{role}` (settlement's is `coordinator`) */
  role: string;
  /** the lock's time to live; the holder extends it every third of it */
  ttlMs: number;
  /** this process, as recorded with the token */
  holder: string;
  /**
   * asked before each attempt to take the lock (never while it is held): false skips the
   * attempt. With `inTurn`, which runs the attempts of several roles one at a time, a process
   * holds at most so many of them (copy partitions): each attempt is asked after the
   * previous one is over, taken or not.
   */
  mayAcquire?: () => boolean;
  inTurn?: (attempt: () => Promise<void>) => Promise<void>;
}

export interface CoordinatorWork {
  /** this process now holds the role; `token` goes with every coordinator write */
  acquired(token: number): void;
  /** it no longer does (lost the lock, or stopping): stop coordinator work at once; resolves once stopped */
  yield(): Promise<unknown> | undefined;
}

/**
 * One active coordinator among the engine processes: a Redlock lock with a short TTL that
 * the holder extends, and a fencing token (a Redis counter incremented at each
 * acquisition, recorded in MySQL by the Fence) that every coordinator write carries.
 *
 * What Redlock on one Redis gives: mutual exclusion while Redis is up and clocks and pauses
 * behave; a holder that is paused (GC, SIGSTOP) past the TTL does not know it lost the lock.
 * The fencing token covers that case: the new holder's token is higher, and MySQL refuses
 * writes that carry an older one. A holder that fails to extend yields before the TTL ends.
 */
export class Coordinator {
  private readonly redlock: Redlock;
  private lock: Lock | null = null;
  private token: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly fence: Fence,
    private readonly opts: CoordinatorOptions,
    private readonly work: CoordinatorWork,
    private readonly log: Logger,
  ) {
    // one attempt per tick: a contender simply tries again at the next tick
    this.redlock = new Redlock([redis], { retryCount: 0, automaticExtensionThreshold: 0 });
    this.redlock.on('error', () => undefined);
  }

  get holding(): number | null {
    return this.token;
  }

  /**
   * True while the lock is held with time to spare, by this process's clock: checked just
   * before a write, it turns down one that a pause past the TTL would otherwise let through
   * before the watchdog has run.
   */
  holds(): boolean {
    return this.lock !== null && !this.expiring(this.lock);
  }

  /** Within the last sixth of its TTL, by this process's clock: too late to act under it. */
  private expiring(lock: Lock): boolean {
    return Date.now() >= lock.expiration - this.opts.ttlMs / 6;
  }

  start(): void {
    const tick = () => {
      // an extension stuck on an unanswering Redis must not outlive the lock
      if (this.lock && this.expiring(this.lock)) {
        void this.lose('lock about to expire without an extension');
      }
      this.ticking ??= this.tick().finally(() => {
        this.ticking = null;
      });
    };
    tick();
    this.timer = setInterval(tick, Math.max(50, Math.floor(this.opts.ttlMs / 3)));
  }

  /**
   * Gives the role up, work first (waited for at most `deadlineMs`), then the lock, so
   * another process takes over at its next tick.
   */
  async stop(deadlineMs = 5000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    const lock = this.lock;
    let timer: NodeJS.Timeout | undefined;
    const passed = new Promise<void>((r) => {
      timer = setTimeout(r, deadlineMs);
    });
    await Promise.race([this.lose('stopping'), passed]).finally(() => clearTimeout(timer));
    await lock?.release().catch(() => undefined);
  }

  private async tick(): Promise<void> {
    const held = this.lock;
    if (held) {
      try {
        const extended = await held.extend(this.opts.ttlMs);
        // given up meanwhile (watchdog): the late extension must not keep others out
        if (this.lock === held) this.lock = extended;
        else await extended.release().catch(() => undefined);
      } catch (err) {
        void this.lose(`could not extend: ${(err as Error).message}`);
      }
      return;
    }
    const attempt = async () => {
      if (this.opts.mayAcquire && !this.opts.mayAcquire()) return;
      await this.acquire();
    };
    await (this.opts.inTurn ? this.opts.inTurn(attempt) : attempt());
  }

  private async acquire(): Promise<void> {
    let lock: Lock;
    try {
      lock = await this.redlock.acquire([`${this.opts.prefix}:${this.opts.role}`], this.opts.ttlMs);
    } catch {
      return; // held by another process
    }
    try {
      const key = `${this.opts.prefix}:${this.opts.role}:token`;
      const counted = await this.redis.incr(key);
      // MySQL keeps tokens growing even if Redis lost its counter (FLUSHALL, failover)
      const token = await this.fence.raise(counted, this.opts.holder);
      if (token !== counted) await this.redis.set(key, token);
      // a raise that waited on a paused predecessor's transaction may outlast the lock
      if (this.expiring(lock)) throw new Error('the lock expired meanwhile');
      this.lock = lock;
      this.token = token;
      this.log.info({ role: this.opts.role, token }, 'role taken');
      this.work.acquired(token);
    } catch (err) {
      this.log.warn({ role: this.opts.role, err }, 'role not taken');
      await lock.release().catch(() => undefined);
    }
  }

  /** A write under `token` was refused: another process holds the role, so this term ends (if still current). */
  fenced(token: number): void {
    if (this.token !== token) return;
    const lock = this.lock;
    void this.lose('a newer coordinator token was found');
    lock?.release().catch(() => undefined);
  }

  private lose(why: string): Promise<unknown> {
    if (this.token === null) return Promise.resolve();
    this.log[why === 'stopping' ? 'info' : 'warn'](
      { role: this.opts.role, token: this.token, why },
      'role given up',
    );
    this.lock = null;
    this.token = null;
    return this.work.yield() ?? Promise.resolve();
  }
}
