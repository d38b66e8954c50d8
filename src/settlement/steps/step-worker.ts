import { isAmount } from '../../domain/money.js';
import type { Logger } from '../../infra/log.js';
import type { RedisClient } from '../../infra/redis.js';
import { type Handled, StreamConsumer, type StreamEntry } from '../../infra/stream-consumer.js';
import { classify, retryDelayMs } from '../domain/errors.js';
import {
  carryAfter,
  LAST_STEP,
  planStep,
  type Step,
  type StepCall,
  type StepResult,
} from '../domain/flows.js';
import {
  deadLetterKey,
  decodeMessage,
  encodeMessage,
  GROUP,
  handoffMarkerKey,
  type StepMessage,
  streamKey,
} from '../domain/streams.js';
import type { OutcomeWriter, StepOutcome } from './outcome-writer.js';

/** A failure of a downstream call, with its stable code (see domain/errors.ts). */
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
  /** how long a hand-off marker lives: longer than a duplicate of a step can wait (claim, redrive) */
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

/**
 * Consumes the stream of one step (the shared StreamConsumer, `parallel`): runs the step's
 * downstream call for each entry, records the outcome in MySQL, then hands the order on (or
 * schedules a retry, or parks it). Entries of dead consumers are claimed after `claimIdleMs`.
 */
export class StepWorker {
  private readonly key: string;
  private readonly nextKey: string | null;
  private readonly consumer: StreamConsumer;

  constructor(
    private readonly opts: StepWorkerOptions,
    private readonly deps: StepWorkerDeps,
  ) {
    this.key = streamKey(opts.prefix, opts.step);
    this.nextKey = opts.step === LAST_STEP ? null : streamKey(opts.prefix, (opts.step + 1) as Step);
    this.consumer = new StreamConsumer(
      {
        stream: this.key,
        group: GROUP,
        consumer: opts.consumer,
        deadLetterKey: deadLetterKey(opts.prefix),
        mode: 'parallel',
        concurrency: opts.concurrency,
        claimIdleMs: opts.claimIdleMs,
        claimIntervalMs: opts.claimIntervalMs,
      },
      { redis: deps.redis, blocking: deps.blocking, handle: (e) => this.handle(e), log: deps.log },
    );
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  /** Stops reading and waits for in-flight steps, at most `deadlineMs`; returns how many were left. */
  stop(deadlineMs: number): Promise<number> {
    return this.consumer.stop(deadlineMs);
  }

  private async handle({ id: entryId, fields }: StreamEntry): Promise<Handled> {
    const m = decodeMessage(fields);
    if ('error' in m) return { deadLetter: m.error };
    if (m.step !== this.opts.step) {
      return { deadLetter: `entry of step ${m.step} in the stream of step ${this.opts.step}` };
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
      return 'ack';
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
        entryId,
        this.opts.handoffMarkerMs,
        ...encodeMessage(next),
      );
      return 'acked';
    }
    if (outcome.status === 'RETRY') {
      const delay = retryDelayMs(m.attempt, this.opts.retryBaseMs, this.opts.retryMaxMs, Math.random);
      await this.deps.scheduleRetry({ ...m, attempt: m.attempt + 1 }, delay);
    }
    return 'ack';
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
