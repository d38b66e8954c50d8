import { isAmount } from '../../domain/money.js';
import type { Logger } from '../../infra/log.js';
import type { RedisClient } from '../../infra/redis.js';
import { type Handled, StreamConsumer, type StreamEntry } from '../../infra/stream-consumer.js';
import { classify, retryDelayMs } from '../domain/errors.js';
import {
  carryAfter,
  LAST_STEP,
  planStep,
  STEPS,
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
import type { Handoffs } from './handoffs.js';
import type { OutcomeWriter, StepOutcome } from './outcome-writer.js';

/** A failure of a downstream call, with its stable code (see domain/errors.ts). */
export interface CodedError {
  code: string;
  status?: number;
  message: string;
}

export interface StepWorkerOptions {
  prefix: string;
  consumer: string;
  /** steps in flight at once in this process, over all four streams */
  concurrency: number;
  claimIdleMs: number;
  claimIntervalMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface StepWorkerDeps {
  redis: RedisClient;
  /** a connection of its own: XREADGROUP BLOCK holds it */
  blocking: RedisClient;
  writer: OutcomeWriter;
  /** hands orders on (or acknowledges their last step), batched, on the hot path's own connection */
  handoffs: Handoffs;
  execute: (call: StepCall) => Promise<StepResult>;
  scheduleRetry: (message: StepMessage, delayMs: number) => Promise<void>;
  /** sees every outcome that was recorded (metrics) */
  observe?: (outcome: StepOutcome, t0: number) => void;
  log: Logger;
}

/**
 * Consumes the streams of the four steps with one blocking read (the shared StreamConsumer,
 * `parallel`; each stream keeps its own consumer group): runs the step's downstream call for
 * each entry, records the outcome in MySQL, then hands the order on (or schedules a retry,
 * or parks it). Entries of dead consumers are claimed after `claimIdleMs`.
 */
export class StepWorker {
  /** the step each stream carries */
  private readonly stepOf: Map<string, Step>;
  private readonly consumer: StreamConsumer;

  constructor(
    private readonly opts: StepWorkerOptions,
    private readonly deps: StepWorkerDeps,
  ) {
    this.stepOf = new Map(STEPS.map((step) => [streamKey(opts.prefix, step), step]));
    this.consumer = new StreamConsumer(
      {
        streams: [...this.stepOf.keys()],
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
    deps.handoffs.takeFor({
      streams: [...this.stepOf.keys()],
      consumer: opts.consumer,
      takeable: () => this.consumer.takeable(),
      deliver: (read) => this.consumer.deliver(read),
    });
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  /** Stops reading and waits for in-flight steps, at most `deadlineMs`; returns how many were left. */
  stop(deadlineMs: number): Promise<number> {
    return this.consumer.stop(deadlineMs);
  }

  private async handle({ stream, id: entryId, fields }: StreamEntry): Promise<Handled> {
    const m = decodeMessage(fields);
    if ('error' in m) return { deadLetter: m.error };
    const step = this.stepOf.get(stream) as Step;
    if (m.step !== step) return { deadLetter: `entry of step ${m.step} in the stream of step ${step}` };
    const { handoffs } = this.deps;
    const outcome = await this.run(m);
    const verdict = await this.deps.writer.commit(outcome);
    if (verdict.kind === 'stale') {
      // the order waits for a retry of this step that a crash may have kept from being
      // scheduled: schedule it (the job id makes a second scheduling a no-op)
      const at = verdict.current;
      if (at?.status === 'RUNNING' && at.step === m.step && at.attempt > m.attempt) {
        await this.deps.scheduleRetry({ ...m, attempt: at.attempt }, this.opts.retryBaseMs);
      }
      await handoffs.ack(stream, entryId);
      return 'acked';
    }
    if (verdict.kind === 'recorded') this.deps.observe?.(outcome, m.t0);
    // recorded now, or by an earlier run of this attempt that may have died before acting on it
    const carry = verdict.kind === 'already' ? verdict.carry : outcome.carry;
    if (outcome.status === 'OK' && step !== LAST_STEP) {
      const next: StepMessage = { ...m, step: (step + 1) as Step, attempt: 1, firstAttempt: 1, carry };
      await handoffs.handOn(stream, entryId, {
        stream: streamKey(this.opts.prefix, next.step),
        marker: handoffMarkerKey(this.opts.prefix, m.orderId, step),
        fields: encodeMessage(next),
      });
      return 'acked';
    }
    if (outcome.status === 'RETRY') {
      const delay = retryDelayMs(m.attempt, this.opts.retryBaseMs, this.opts.retryMaxMs, Math.random);
      await this.deps.scheduleRetry({ ...m, attempt: m.attempt + 1 }, delay);
    }
    await handoffs.ack(stream, entryId);
    return 'acked';
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
