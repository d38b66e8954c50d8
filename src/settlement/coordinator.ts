import Redlock, { type Lock } from 'redlock';
import type { Logger } from '../infra/log.js';
import type { RedisClient } from '../infra/redis.js';
import type { Fence } from './fence.js';

export interface CoordinatorOptions {
  prefix: string;
  /** the lock's time to live; the holder extends it every third of it */
  ttlMs: number;
  /** this process, as recorded with the token */
  holder: string;
}

export interface CoordinatorWork {
  /** this process now holds the role; `token` goes with every coordinator write */
  lead(token: number): void;
  /** it no longer does (lost the lock, or stopping): stop coordinator work at once */
  yield(): void;
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

  get leading(): number | null {
    return this.token;
  }

  start(): void {
    const tick = () => {
      // an extension stuck on an unanswering Redis must not outlive the lock
      if (this.lock && Date.now() >= this.lock.expiration - this.opts.ttlMs / 6) {
        this.lose('lock about to expire without an extension');
      }
      this.ticking ??= this.tick().finally(() => {
        this.ticking = null;
      });
    };
    tick();
    this.timer = setInterval(tick, Math.max(50, Math.floor(this.opts.ttlMs / 3)));
  }

  /** Gives the role up (work first, then the lock) so another process takes over at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    const lock = this.lock;
    this.lose('stopping');
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
        this.lose(`could not extend: ${(err as Error).message}`);
      }
      return;
    }
    try {
      const lock = await this.redlock.acquire([`${this.opts.prefix}:coordinator`], this.opts.ttlMs);
      const token = await this.redis.incr(`${this.opts.prefix}:coordinator:token`);
      await this.fence.raise(token, this.opts.holder);
      // a raise that waited on a paused predecessor's transaction may outlast the lock
      if (Date.now() >= lock.expiration - this.opts.ttlMs / 6) {
        await lock.release().catch(() => undefined);
        return;
      }
      this.lock = lock;
      this.token = token;
      this.log.info({ token }, 'coordinator role taken');
      this.work.lead(token);
    } catch {
      // held by another process
    }
  }

  /** The work found a newer token in the fence: another process leads, so this one stops. */
  fenced(): void {
    const lock = this.lock;
    this.lose('a newer coordinator token was found');
    lock?.release().catch(() => undefined);
  }

  private lose(why: string): void {
    if (this.token === null) return;
    this.log[why === 'stopping' ? 'info' : 'warn']({ token: this.token, why }, 'coordinator role given up');
    this.lock = null;
    this.token = null;
    this.work.yield();
  }
}
