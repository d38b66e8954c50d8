import { deadLetter } from './dead-letter.js';
import type { Logger } from './log.js';
import type { RedisClient } from './redis.js';

export interface StreamEntry {
  /** the stream it was read from */
  readonly stream: string;
  readonly id: string;
  readonly fields: string[];
  /** delivered before (taken over from another consumer, or tried again): handle it as a possible repeat */
  readonly redelivered: boolean;
}

/**
 * What a handler made of an entry: `ack`, done (the consumer acknowledges and deletes it);
 * `acked`, done and already acknowledged by the handler's own atomic hand-off; or a dead
 * letter, an entry no retry can mend, with its reason. A handler that throws leaves the
 * entry pending.
 */
export type Handled = 'ack' | 'acked' | { readonly deadLetter: string };

export interface StreamConsumerOptions {
  /**
   * The streams read, each with its own group of the name `group`: one blocking read serves
   * them all. `ordered` reads exactly one.
   */
  readonly streams: readonly string[];
  readonly group: string;
  readonly consumer: string;
  readonly deadLetterKey: string;
  /**
   * `parallel`: up to `concurrency` entries at once, in any number of processes; an entry
   * left pending (its consumer died, or its handler threw) is claimed once idle for
   * `claimIdleMs`, looked for every `claimIntervalMs`.
   *
   * `ordered`: one reader at a time (the caller holds a role), entries handled one by one in
   * stream order. Whatever another consumer holds pending is taken over before any newer
   * entry is handled, whatever its idle time: a former reader's late read (ioredis resends a
   * blocking read when Redis comes back) cannot leave an entry behind or let a later one
   * pass it. A failing entry is tried again with back-off, never passed.
   */
  readonly mode: 'parallel' | 'ordered';
  readonly concurrency?: number;
  readonly claimIdleMs?: number;
  readonly claimIntervalMs?: number;
  readonly blockMs?: number;
}

export interface StreamConsumerDeps {
  readonly redis: RedisClient;
  /** a connection of its own: XREADGROUP BLOCK holds it */
  readonly blocking: RedisClient;
  readonly handle: (entry: StreamEntry) => Promise<Handled>;
  /** asked before each read and each entry: false once this process must not consume (its role is gone) */
  readonly mayConsume?: () => boolean;
  readonly log: Logger;
}

type Entry = [id: string, fields: string[] | null];
/** What XREADGROUP answers: per stream, its entries. */
export type Read = [stream: string, entries: Entry[]];
type PendingRow = [id: string, consumer: string, idleMs: number, deliveries: number];

const ORDERED_READ = 16;
const ORDERED_TAKEOVER = 100;
const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 5000;

/**
 * The one Redis Streams consumer of tradeflow, used by the settlement step workers
 * (`parallel`) and the copy fan-out (`ordered`): it creates its group when missing (also
 * after Redis lost it), reads with a blocking XREADGROUP, takes over what other consumers
 * left pending, acknowledges (XACK + XDEL) or dead-letters what its handler returns, and
 * backs off while Redis fails.
 */
export class StreamConsumer {
  private readonly inFlight = new Set<string>();
  private readonly concurrency: number;
  private readonly blockMs: number;
  private running = false;
  private wake: (() => void) | null = null;
  private loops: Promise<void>[] = [];
  private failures = 0;

  constructor(
    private readonly opts: StreamConsumerOptions,
    private readonly deps: StreamConsumerDeps,
  ) {
    this.concurrency = opts.mode === 'ordered' ? 1 : (opts.concurrency ?? 1);
    this.blockMs = opts.blockMs ?? 500;
  }

  async start(): Promise<void> {
    if (this.opts.mode === 'ordered' && this.opts.streams.length !== 1)
      throw new Error(`an ordered consumer reads one stream, not ${this.opts.streams.length}`);
    await this.ensureGroups();
    this.running = true;
    this.loops = this.opts.mode === 'ordered' ? [this.orderedLoop()] : [this.readLoop(), this.claimLoop()];
  }

  /** Stops reading and waits for the entries in hand, at most `deadlineMs`; returns how many were left. */
  async stop(deadlineMs: number): Promise<number> {
    this.running = false;
    this.wake?.();
    const deadline = Date.now() + deadlineMs;
    // a loop stuck on an unreachable Redis must not hold the drain past its deadline, and
    // the timer must not hold the process once the loops have ended
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.loops),
      new Promise((r) => {
        timer = setTimeout(r, deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    while (this.inFlight.size > 0 && Date.now() < deadline) await sleep(10);
    return this.inFlight.size;
  }

  private mayConsume(): boolean {
    return this.running && (this.deps.mayConsume?.() ?? true);
  }

  private free(): number {
    return this.concurrency - this.inFlight.size;
  }

  /**
   * How many new entries of each stream a read made elsewhere may take for this consumer now
   * (a script that hands work on and takes the next in the same call): 0 when stopping or full.
   */
  takeable(): number {
    if (this.opts.mode !== 'parallel' || !this.mayConsume()) return 0;
    return this.perStream();
  }

  /** COUNT is per stream: a share of the free slots from each, so a read overfills by less than one per stream. */
  private perStream(): number {
    return Math.max(0, Math.ceil(this.free() / this.opts.streams.length));
  }

  /** Handles entries that a read made elsewhere delivered to this consumer, as if read here. */
  deliver(read: readonly Read[]): void {
    for (const [stream, entries] of read) for (const e of entries) this.dispatch(stream, e, false);
  }

  private async ensureGroups(): Promise<void> {
    await Promise.all(this.opts.streams.map((s) => ensureGroup(this.deps.redis, s, this.opts.group)));
  }

  /** Up to `count` new entries of each stream, or none once `blockMs` has passed. */
  private async read(count: number): Promise<Read[]> {
    const { streams } = this.opts;
    const res = (await this.deps.blocking.xreadgroup(
      'GROUP',
      this.opts.group,
      this.opts.consumer,
      'COUNT',
      count,
      'BLOCK',
      this.blockMs,
      'STREAMS',
      ...streams,
      ...streams.map(() => '>'),
    )) as Read[] | null;
    return res ?? [];
  }

  // ---- ordered ----

  private async orderedLoop(): Promise<void> {
    while (this.running) {
      if (!this.mayConsume()) {
        await sleep(this.blockMs, () => !this.running);
        continue;
      }
      try {
        let batch = await this.pendingInOrder(new Map());
        if (batch.length === 0) {
          const read = (await this.read(ORDERED_READ))[0]?.[1] ?? [];
          if (read.length === 0) continue;
          // read, then look again: an entry older than these may sit in another's pending list
          batch = await this.pendingInOrder(new Map(read));
        }
        this.failures = 0;
        for (const e of batch) {
          // what is not handled stays pending, for this loop's next turn or the next holder
          if (!this.mayConsume()) break;
          await this.handleUntilDone(e);
        }
      } catch (err) {
        await this.recoverFrom(err as Error);
      }
    }
  }

  /**
   * Every entry pending in the group, oldest first: those just read (`read`), and the rest
   * claimed to this consumer whoever held them.
   */
  private async pendingInOrder(read: Map<string, string[] | null>): Promise<StreamEntry[]> {
    const { redis } = this.deps;
    const { group, consumer } = this.opts;
    const stream = this.opts.streams[0] as string;
    const rows = (await redis.xpending(stream, group, '-', '+', ORDERED_TAKEOVER)) as PendingRow[];
    const others = rows.map(([id]) => id).filter((id) => !read.has(id));
    const claimed = new Map<string, string[] | null>();
    if (others.length > 0) {
      const entries = (await redis.xclaim(stream, group, consumer, 0, ...others)) as Entry[];
      for (const [id, fields] of entries) claimed.set(id, fields);
    }
    const batch: StreamEntry[] = [];
    for (const [id] of rows) {
      const fields = read.get(id) ?? claimed.get(id);
      // an entry deleted while pending has nothing to handle
      if (!fields) await redis.ack(stream, group, id);
      else batch.push({ stream, id, fields, redelivered: !read.has(id) });
    }
    return batch;
  }

  private async handleUntilDone(e: StreamEntry): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.settle(e, await this.deps.handle(attempt === 0 ? e : { ...e, redelivered: true }));
        return;
      } catch (err) {
        this.deps.log.error({ err, stream: e.stream, id: e.id, attempt }, 'entry failed; retrying');
        if (!this.mayConsume()) return;
        await sleep(backoffMs(attempt), () => !this.running);
      }
    }
  }

  // ---- parallel ----

  private async slot(): Promise<void> {
    while (this.running && this.free() <= 0) await new Promise<void>((r) => (this.wake = r));
  }

  private async readLoop(): Promise<void> {
    while (this.running) {
      await this.slot();
      if (!this.mayConsume()) {
        await sleep(this.blockMs, () => !this.running);
        continue;
      }
      try {
        const read = await this.read(this.perStream());
        this.failures = 0;
        this.deliver(read);
      } catch (err) {
        await this.recoverFrom(err as Error);
      }
    }
  }

  private async claimLoop(): Promise<void> {
    while (this.running) {
      await sleep(this.opts.claimIntervalMs ?? 1000, () => !this.running);
      try {
        for (const stream of this.opts.streams) await this.claim(stream);
        this.failures = 0;
      } catch (err) {
        await this.recoverFrom(err as Error);
      }
    }
  }

  /** Takes over the entries of `stream` left idle by other consumers, as slots allow. */
  private async claim(stream: string): Promise<void> {
    const { group, consumer } = this.opts;
    let cursor = '0-0';
    do {
      if (!this.mayConsume() || this.free() <= 0) return;
      const [next, entries] = (await this.deps.redis.xautoclaim(
        stream,
        group,
        consumer,
        this.opts.claimIdleMs ?? 30_000,
        cursor,
        'COUNT',
        this.free(),
      )) as [string, Entry[]];
      cursor = next;
      for (const e of entries) if (!this.inFlight.has(key(stream, e[0]))) this.dispatch(stream, e, true);
    } while (cursor !== '0-0');
  }

  private dispatch(stream: string, [id, fields]: Entry, redelivered: boolean): void {
    if (fields === null) {
      // XAUTOCLAIM gives nil fields for an entry deleted while pending (Redis < 7): nothing to run, clear it
      void this.deps.redis.ack(stream, this.opts.group, id).catch(() => undefined);
      return;
    }
    const k = key(stream, id);
    this.inFlight.add(k);
    const e = { stream, id, fields, redelivered };
    this.deps
      .handle(e)
      .then((h) => this.settle(e, h))
      .catch((err: Error) => {
        this.deps.log.error({ err, stream, id }, 'entry not handled; left pending for a claim');
      })
      .finally(() => {
        this.inFlight.delete(k);
        this.wake?.();
      });
  }

  // ---- both ----

  private async settle(e: StreamEntry, handled: Handled): Promise<void> {
    const { redis, log } = this.deps;
    const { stream } = e;
    const { group } = this.opts;
    if (handled === 'acked') return;
    if (handled !== 'ack') {
      const reason = handled.deadLetter;
      await deadLetter(redis, this.opts.deadLetterKey, {
        source: `${stream}/${e.id}`,
        reason,
        entry: JSON.stringify(e.fields),
      });
      log.warn({ stream, id: e.id, reason }, 'stream entry dead-lettered');
    }
    await redis.ack(stream, group, e.id);
  }

  /** Redis lost the group (a FLUSHALL, a failover to an empty replica): recreate it; else back off. */
  private async recoverFrom(err: Error): Promise<void> {
    if (!this.running) return;
    const { streams } = this.opts;
    if (err.message.includes('NOGROUP')) {
      this.deps.log.warn({ streams }, 'consumer group missing; recreating it');
      await this.ensureGroups().catch(() => undefined);
      return;
    }
    this.deps.log.error({ err, streams }, 'stream read failed; backing off');
    await sleep(backoffMs(this.failures++), () => !this.running);
  }
}

/** Creates the group reading from the start, so entries added before it existed are not skipped. */
export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!(err as Error).message.includes('BUSYGROUP')) throw err;
  }
}

/** Entry ids are unique per stream only. */
const key = (stream: string, id: string): string => `${stream} ${id}`;

const backoffMs = (failures: number): number =>
  Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 10));

function sleep(ms: number, abort?: () => boolean): Promise<void> {
  if (!abort) return new Promise((r) => setTimeout(r, ms));
  return new Promise((resolve) => {
    const until = Date.now() + ms;
    const tick = () =>
      abort() || Date.now() >= until ? resolve() : setTimeout(tick, Math.min(50, until - Date.now()));
    tick();
  });
}
