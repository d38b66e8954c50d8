import { deadLetter } from '../../infra/dead-letter.js';
import type { Logger } from '../../infra/log.js';
import type { RedisClient } from '../../infra/redis.js';
import type { TraderSignal } from '../domain/signal.js';
import { type AcceptSignal, STALE_REASON } from './accept.js';
import { signalDeadLetterKey } from './codec.js';
import {
  DROP_REASONS,
  type DropReason,
  type FillFilterOptions,
  filterFill,
  filterFillText,
  type LeaderTable,
} from './fill-filter.js';
import { mayBeRiskEvent, mayBeRiskObject, type RiskEvent, riskEventOf } from './risk-events.js';

/**
 * Trading-system fill events into signals, whatever carries them (the simulator's WebSocket
 * here, Kafka in production): each event goes through the filter (fill-filter.ts); a lead
 * trader's fill goes to the same accept path as a trader's frame; an event that cannot be
 * read goes to the dead-letter stream with its reason. The leader table is read on every
 * event through `leaders`, so a refresh takes effect at the next event.
 */

export type WriteDeadLetter = (reason: string, raw: string) => Promise<unknown>;

export interface FillIntakeOptions {
  readonly leaders: () => LeaderTable;
  readonly accept: AcceptSignal;
  readonly deadLetter: WriteDeadLetter;
  readonly filter?: FillFilterOptions;
  /**
   * A liquidation's fill (of any account) or a margin change (risk-events.ts), taken before
   * the filter; a liquidation fill of a lead still becomes its signal too. Retried with the
   * same backoff while it fails. Left out: such events are only filtered as fills.
   */
  readonly onRisk?: (event: RiskEvent, receivedMs: number) => Promise<void>;
  /** first pause before a failed accept is tried again; doubles up to 5 s (default 100) */
  readonly retryBaseMs?: number;
  readonly logger?: Logger;
}

export interface FillIntakeStats {
  events: number;
  signals: number;
  duplicates: number;
  invalid: number;
  dropped: Record<DropReason, number>;
}

export interface FillIntake {
  /** One message of the transport: a JSON event, or a JSON array of events. */
  onEvent(text: string, receivedMs: number): void;
  stats(): FillIntakeStats;
  /** Resolves once every signal taken so far is stored (or given up by close). */
  idle(): Promise<void>;
  /** Stops retrying; signals still unstored are logged as lost. */
  close(): Promise<void>;
}

export function createFillIntake(opts: FillIntakeOptions): FillIntake {
  const log = opts.logger;
  const retryBaseMs = opts.retryBaseMs ?? 100;
  const stats: FillIntakeStats = {
    events: 0,
    signals: 0,
    duplicates: 0,
    invalid: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };
  const pending = new Set<Promise<void>>();
  let closed = false;

  const deadLetter = (reason: string, raw: string): void => {
    stats.invalid++;
    opts.deadLetter(reason, raw).catch((err: unknown) => {
      log?.error({ err, reason }, 'fill intake: could not dead-letter an event');
    });
  };

  /** Stores one signal, trying again with backoff while Redis fails (a fill has no sender to retry). */
  const store = async (signal: TraderSignal, receivedMs: number): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await opts.accept(signal, receivedMs, 'fill');
        if (r.stale) deadLetter(`STALE_SIGNAL: ${STALE_REASON}`, JSON.stringify(signal));
        else if (r.duplicate) stats.duplicates++;
        else stats.signals++;
        return;
      } catch (err) {
        if (closed) {
          log?.error({ err, signalId: signal.signalId }, 'fill intake: closed with a signal not stored');
          return;
        }
        const waitMs = Math.min(5000, retryBaseMs * 2 ** Math.min(attempt, 16));
        log?.warn(
          { err, signalId: signal.signalId, waitMs },
          'fill intake: could not store a signal, retrying',
        );
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
  };

  /** Hands a risk event on, trying again while it fails (as a signal's store). */
  const handOn = async (event: RiskEvent, receivedMs: number): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await opts.onRisk?.(event, receivedMs);
        return;
      } catch (err) {
        if (closed) {
          log?.error({ err, event }, 'fill intake: closed with a risk event not handed on');
          return;
        }
        const waitMs = Math.min(5000, retryBaseMs * 2 ** Math.min(attempt, 16));
        log?.warn({ err, waitMs }, 'fill intake: could not hand on a risk event, retrying');
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
  };

  /** the signals' stores and the liquidations' hand-ons in flight: what a liquidation waits for */
  const ordered = new Set<Promise<void>>();
  /** in flight; `inOrder`: among what a liquidation waits for (not a margin change's notices) */
  const track = (p: Promise<void>, inOrder = true): Promise<void> => {
    const done: Promise<void> = p.finally(() => {
      pending.delete(done);
      ordered.delete(done);
    });
    pending.add(done);
    if (inOrder) ordered.add(done);
    return done;
  };

  /**
   * A liquidation being handed on: the stream must hold it where the feed had it, after the
   * signals taken before it and before those taken after (a lead's open after a copier's
   * liquidation must not be copied into the position the liquidation closes). Undefined the
   * rest of the time, so a signal waits for nothing.
   */
  let barrier: Promise<void> | undefined;

  /** A liquidation or margin event to opts.onRisk; true when the event is nothing else (a margin change). */
  const risk = (event: unknown, text: string | undefined, receivedMs: number): boolean => {
    if (!opts.onRisk) return false;
    if (text === undefined ? !mayBeRiskObject(event) : !mayBeRiskEvent(text)) return false;
    let parsed = event;
    if (text !== undefined) {
      try {
        parsed = JSON.parse(text);
      } catch {
        return false; // the filter dead-letters it, if it is a lead's
      }
    }
    const r = riskEventOf(parsed);
    if (r === undefined) return false;
    if ('error' in r) {
      deadLetter(`INVALID_EVENT: ${r.error}`, text ?? JSON.stringify(event));
      return true;
    }
    if (r.kind === 'margin') {
      track(handOn(r, receivedMs), false);
      return true;
    }
    const before = [...ordered];
    const handed = track(Promise.allSettled(before).then(() => handOn(r, receivedMs)));
    barrier = handed;
    void handed.then(() => {
      if (barrier === handed) barrier = undefined;
    });
    return false;
  };

  const decide = (event: unknown, text: string | undefined, receivedMs: number): void => {
    stats.events++;
    if (risk(event, text, receivedMs)) return;
    const leaders = opts.leaders();
    const v =
      text === undefined
        ? filterFill(event, leaders, opts.filter)
        : filterFillText(text, leaders, opts.filter);
    if (v.kind === 'drop') {
      stats.dropped[v.reason]++;
      return;
    }
    if (v.kind === 'invalid') {
      deadLetter(
        `${v.error.code}${v.error.path ? ` ${v.error.path}` : ''}: ${v.error.message}`,
        text ?? JSON.stringify(event),
      );
      return;
    }
    const after = barrier;
    const signal = v.signal;
    track(after === undefined ? store(signal, receivedMs) : after.then(() => store(signal, receivedMs)));
  };

  return {
    onEvent(text, receivedMs) {
      if (!text.startsWith('[')) {
        decide(undefined, text, receivedMs);
        return;
      }
      let events: unknown;
      try {
        events = JSON.parse(text);
      } catch {
        stats.events++;
        deadLetter('BAD_JSON: event is not JSON', text);
        return;
      }
      for (const e of events as unknown[]) decide(e, undefined, receivedMs);
    },
    stats: () => ({ ...stats, dropped: { ...stats.dropped } }),
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async close() {
      closed = true;
      await this.idle();
    },
  };
}

/** Writes unreadable events, whole, to `{prefix}:copy:signals:dead` (source `fills`). */
export function createDeadLetter(redis: RedisClient, prefix: string): WriteDeadLetter {
  const key = signalDeadLetterKey(prefix);
  return async (reason, raw) => deadLetter(redis, key, { source: 'fills', reason, entry: raw });
}
