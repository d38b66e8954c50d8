import { Rejected } from './errors.js';
import { decide, type FaultEndpoint, type ResolvedRule } from './faults.js';
import type { IdempotencyStore, StoredReply } from './idempotency.js';
import { fingerprint } from './requests.js';

/** What to send back for one mutating call, and when. */
export interface Answer {
  status: number;
  /** serialized JSON */
  body: string;
  delayMs: number;
  /** the stored answer of a key applied before */
  replay?: boolean;
}

export interface CallContext {
  replies: IdempotencyStore;
  rule: ResolvedRule;
  random: () => number;
}

const errorJson = (code: string, message: string): string => JSON.stringify({ code, message });

/**
 * Decides one mutating call and applies its effect at once, synchronously: the conflict
 * check, the injected fault, then the effect, at most once per key. Only the answer waits,
 * so a duplicate arriving during the wait finds the stored reply.
 *
 * Transport faults (5xx, 429, timeout) may hit a replay too; a reject only hits a new key,
 * since a service answers a key it applied with its stored result. Failures are not
 * remembered, so the same key may succeed later.
 */
export function answerCall<R extends { key: string }>(
  ctx: CallContext,
  endpoint: FaultEndpoint,
  req: R,
  apply: (req: R) => unknown,
): Answer {
  const print = fingerprint(endpoint, req);
  const found = ctx.replies.lookup(req.key, print);
  const { delayMs, fault } = decide(ctx.rule, ctx.random);
  const fail = (status: number, code: string, message: string): Answer => ({
    status,
    body: errorJson(code, message),
    delayMs,
  });
  if (found.kind === 'conflict')
    return fail(409, 'IDEMPOTENCY_CONFLICT', `key ${req.key} was used with another request`);
  if (fault.kind === 'error') return fail(fault.status, fault.code, 'injected fault');
  if (fault.kind === 'rateLimit') return fail(429, 'RATE_LIMITED', 'injected rate limit');
  if (fault.kind === 'reject' && found.kind === 'new') return fail(422, fault.code, 'injected rejection');

  let reply: StoredReply;
  if (found.kind === 'replay') reply = found.reply;
  else {
    try {
      reply = { fingerprint: print, status: 200, body: JSON.stringify(apply(req)) };
    } catch (err) {
      if (err instanceof Rejected) return fail(422, err.code, err.message);
      throw err;
    }
    ctx.replies.remember(req.key, reply);
  }
  return {
    status: reply.status,
    body: reply.body,
    delayMs: fault.kind === 'timeout' ? fault.holdMs : delayMs,
    replay: found.kind === 'replay',
  };
}
