import { isAmount } from '../domain/money.js';
import type { Logger } from '../infra/log.js';
import type { RedisClient } from '../infra/redis.js';
import { classify, retryDelayMs } from './errors.js';
import { carryAfter, LAST_STEP, planStep, type Step, type StepCall, type StepResult } from './flows.js';
import type { OutcomeWriter, StepOutcome } from './outcome-writer.js';
import {
  deadLetterKey,
  decodeMessage,
  encodeMessage,
  GROUP,
  handoffMarkerKey,
  type StepMessage,
  streamKey,
} from './streams.js';

/** A failure of a downstream call, with its stable code (see errors.ts). */
export interface CodedError {
  code: string;
  status?: number;
  message: string;
}

export interface StepWorkerOptions {
  prefix: string;
  step: Step;
  consumer: string;
  concurrency: number;
  claimIdleMs: number;
  claimIntervalMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** how long a hand-off marker lives: longer than a duplicate of a step can wait (claim, re-drive) */
  handoffMarkerMs: number;
}

export interface StepWorkerDeps {
  redis: RedisClient;
  /** a connection of its own: XREADGROUP BLOCK holds it */
  blocking: RedisClient;
  writer: OutcomeWriter;
  execute: (call: StepCall) => Promise<StepResult>;
  scheduleRetry: (message: StepMessage, delayMs: number) => Promise<void>;
  /** sees every outcome that was recorded (metrics) */
  observe?: (outcome: StepOutcome, t0: number) => void;
  log: Logger;
}

type Entry = [id: string, fields: string[] | null];

const BLOCK_MS = 500;
const DEAD_LETTERS_KEPT = 10_000;

/**
 * Consumes the stream of one step: runs the step's downstream call for each entry, records
 * the outcome in MySQL, then hands the order on (or schedules a retry, or parks it) and
 * acknowledges. Entries of dead consumers are claimed after `claimIdleMs`.
 */
export class StepWorker {
  private readonly key: string;
  private readonly nextKey: string | null;
  private readonly inFlight = new Set<string>();
  private running = false;
  private wake: (() => void) | null = null;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly opts: StepWorkerOptions,
    private readonly deps: StepWorkerDeps,
  ) {
    this.key = streamKey(opts.prefix, opts.step);
    this.nextKey = opts.step === LAST_STEP ? null : streamKey(opts.prefix, (opts.step + 1) as Step);
  }

  async start(): Promise<void> {
    await ensureGroup(this.deps.redis, this.key);
    this.running = true;
    this.loops = [this.readLoop(), this.claimLoop()];
  }

  /** Stops reading and waits for in-flight steps, at most `deadlineMs`; returns how many were left. */
  async stop(deadlineMs: number): Promise<number> {
    this.running = false;
    this.wake?.();
    const deadline = Date.now() + deadlineMs;
    // a loop stuck on an unreachable Redis must not hold the drain past its deadline
    // the deadline's timer is cleared once the loops end, or it would keep the process alive that long
    let timer: NodeJS.Timeout | undefined;
    const passed = new Promise<void>((r) => {
      timer = setTimeout(r, deadlineMs);
    });
    await Promise.race([Promise.all(this.loops), passed]).finally(() => clearTimeout(timer));
    while (this.inFlight.size > 0 && Date.now() < deadline) await sleep(10);
    return this.inFlight.size;
  }

  private free(): number {
    return this.opts.concurrency - this.inFlight.size;
  }

  private async slot(): Promise<void> {
    while (this.running && this.free() <= 0) await new Promise<void>((r) => (this.wake = r));
  }

  private async readLoop(): Promise<void> {
    while (this.running) {
      await this.slot();
      if (!this.running) break;
      try {
        const res = (await this.deps.blocking.xreadgroup(
          'GROUP',
          GROUP,
          this.opts.consumer,
          'COUNT',
          this.free(),
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.key,
          '>',
        )) as [string, Entry[]][] | null;
        for (const [, entries] of res ?? []) for (const e of entries) this.dispatch(e);
      } catch (err) {
        await this.recoverFrom(err as Error);
      }
    }
  }

  private async claimLoop(): Promise<void> {
    while (this.running) {
      await sleep(this.opts.claimIntervalMs, () => !this.running);
      let cursor = '0-0';
      try {
        do {
          if (!this.running || this.free() <= 0) break;
          const [next, entries] = (await this.deps.redis.xautoclaim(
            this.key,
            GROUP,
            this.opts.consumer,
            this.opts.claimIdleMs,
            cursor,
            'COUNT',
            this.free(),
          )) as [string, Entry[]];
          cursor = next;
          for (const e of entries) if (!this.inFlight.has(e[0])) this.dispatch(e);
        } while (cursor !== '0-0');
      } catch (err) {
        await this.recoverFrom(err as Error);
      }
    }
  }

  /** Redis lost the group (a FLUSHALL, a failover to an empty replica): recreate it and go on. */
  private async recoverFrom(err: Error): Promise<void> {
    if (!this.running) return;
    if (err.message.includes('NOGROUP')) {
      this.deps.log.warn({ stream: this.key }, 'consumer group missing; recreating it');
      await ensureGroup(this.deps.redis, this.key).catch(() => undefined);
      return;
    }
    this.deps.log.error({ err, stream: this.key }, 'stream read failed');
    await sleep(200);
  }

  private dispatch([id, fields]: Entry): void {
    if (fields === null) {
      // XAUTOCLAIM gives nil fields for an entry deleted while pending (Redis < 7): nothing to run, clear it
      void this.deps.redis.ack(this.key, GROUP, id);
      return;
    }
    this.inFlight.add(id);
    this.handle(id, fields)
      .catch((err: Error) => {
        // the entry stays pending; a claim runs it again once it is idle long enough
        this.deps.log.error({ err, stream: this.key, id }, 'step not recorded; left pending for a claim');
      })
      .finally(() => {
        this.inFlight.delete(id);
        this.wake?.();
      });
  }

  private async handle(id: string, fields: string[]): Promise<void> {
    const m = decodeMessage(fields);
    if ('error' in m || m.step !== this.opts.step) {
      const reason =
        'error' in m ? m.error : `entry of step ${m.step} in the stream of step ${this.opts.step}`;
      await this.deps.redis.xadd(
        deadLetterKey(this.opts.prefix),
        // bounded: an operator reads the latest; a flood of garbage must not fill Redis
        'MAXLEN',
        '~',
        DEAD_LETTERS_KEPT,
        '*',
        'stream',
        this.key,
        'id',
        id,
        'reason',
        reason,
        'raw',
        JSON.stringify(fields).slice(0, 4096),
      );
      await this.deps.redis.ack(this.key, GROUP, id);
      this.deps.log.warn({ stream: this.key, id, reason }, 'malformed stream entry dead-lettered');
      return;
    }
    const outcome = await this.run(m);
    const verdict = await this.deps.writer.commit(outcome);
    if (verdict.kind === 'stale') {
      // the order waits for a retry of this step that a crash may have kept from being
      // scheduled: schedule it (the job id makes a second scheduling a no-op)
      const at = verdict.current;
      if (at?.status === 'RUNNING' && at.step === m.step && at.attempt > m.attempt) {
        await this.deps.scheduleRetry({ ...m, attempt: at.attempt }, this.opts.retryBaseMs);
      }
      await this.deps.redis.ack(this.key, GROUP, id);
      return;
    }
    if (verdict.kind === 'recorded') this.deps.observe?.(outcome, m.t0);
    // recorded now, or by an earlier run of this attempt that may have died before acting on it
    const carry = verdict.kind === 'already' ? verdict.carry : outcome.carry;
    if (outcome.status === 'OK' && this.nextKey) {
      const next: StepMessage = { ...m, step: (m.step + 1) as Step, attempt: 1, firstAttempt: 1, carry };
      await this.deps.redis.handoff(
        this.key,
        this.nextKey,
        handoffMarkerKey(this.opts.prefix, m.orderId, m.step),
        GROUP,
        id,
        this.opts.handoffMarkerMs,
        ...encodeMessage(next),
      );
      return;
    }
    if (outcome.status === 'RETRY') {
      const delay = retryDelayMs(m.attempt, this.opts.retryBaseMs, this.opts.retryMaxMs, Math.random);
      await this.deps.scheduleRetry({ ...m, attempt: m.attempt + 1 }, delay);
    }
    await this.deps.redis.ack(this.key, GROUP, id);
  }

  /** Runs the step's call; every failure becomes an outcome, never an exception. */
  private async run(m: StepMessage): Promise<StepOutcome> {
    const startedMs = Date.now();
    const base = { orderId: m.orderId, step: m.step, attempt: m.attempt, startedMs };
    try {
      const call = planStep(m, m.step, m.carry);
      const result = await this.deps.execute(call);
      const carry = carryAfter(call, result);
      if (carry !== null && !isAmount(carry)) {
        const message = `step ${m.step} answered an amount that is not one: ${String(carry).slice(0, 60)}`;
        throw Object.assign(new Error(message), { name: 'DownstreamError', code: 'BAD_RESPONSE' });
      }
      return {
        ...base,
        status: 'OK',
        carry,
        errorCode: null,
        errorMessage: null,
        finishedMs: Date.now(),
      };
    } catch (err) {
      const e = asCoded(err);
      const tries = m.attempt - m.firstAttempt + 1;
      const retry = classify(e.code, e.status) === 'retryable' && tries < this.opts.maxAttempts;
      const message =
        retry || classify(e.code, e.status) === 'fatal'
          ? e.message
          : `${e.message} (gave up after ${tries} attempts)`;
      return {
        ...base,
        status: retry ? 'RETRY' : 'FAILED',
        carry: null,
        // a service's code longer than the column is its own bug; keep what fits
        errorCode: e.code.slice(0, 64),
        errorMessage: message,
        finishedMs: Date.now(),
      };
    }
  }
}

function asCoded(err: unknown): CodedError {
  const e = err as Partial<CodedError> & Error;
  if (typeof e?.code === 'string' && e.name === 'DownstreamError')
    return { code: e.code, status: e.status, message: e.message };
  return { code: 'ENGINE_BUG', message: e instanceof Error ? e.message : String(err) };
}

/** Creates the group reading from the start, so entries added before it existed are not skipped. */
export async function ensureGroup(redis: RedisClient, key: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', key, GROUP, '0', 'MKSTREAM');
  } catch (err) {
    if (!(err as Error).message.includes('BUSYGROUP')) throw err;
  }
}

function sleep(ms: number, abort?: () => boolean): Promise<void> {
  if (!abort) return new Promise((r) => setTimeout(r, ms));
  return new Promise((resolve) => {
    const until = Date.now() + ms;
    const tick = () =>
      abort() || Date.now() >= until ? resolve() : setTimeout(tick, Math.min(50, until - Date.now()));
    tick();
  });
}
