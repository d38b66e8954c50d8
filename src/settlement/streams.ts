import type { Step } from './flows.js';
import { isStep } from './flows.js';
import type { Asset, Flow } from './order.js';

/** One stream and one consumer group per step: `{prefix}:settle:{step}`. */
export const streamKey = (prefix: string, step: Step): string => `${prefix}:settle:${step}`;
/** Stream entries that could not be read, with the reason. */
export const deadLetterKey = (prefix: string): string => `${prefix}:settle:dead`;
export const GROUP = 'settle';

/** What a step needs to run, carried in the stream entry so that the hot path reads no MySQL. */
export interface StepMessage {
  orderId: string;
  userId: string;
  flow: Flow;
  asset: Asset;
  qty: string;
  usdt: string;
  step: Step;
  attempt: number;
  carry: string | null;
  /** when the counter wrote the order (ms): end-to-end latency starts here */
  t0: number;
}

export function encodeMessage(m: StepMessage): string[] {
  const fields = ['o', m.orderId, 'u', m.userId, 'f', m.flow, 'a', m.asset, 'q', m.qty, 'p', m.usdt];
  fields.push('s', String(m.step), 'n', String(m.attempt), 't', String(m.t0));
  if (m.carry !== null) fields.push('c', m.carry);
  return fields;
}

/** Decodes a stream entry's fields; a malformed entry yields the reason instead. */
export function decodeMessage(fields: string[]): StepMessage | { error: string } {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
  const step = Number(f.s);
  const attempt = Number(f.n);
  const t0 = Number(f.t);
  if (!f.o || !f.u || !f.q || !f.p) return { error: 'missing order fields' };
  if (f.f !== 'open' && f.f !== 'close') return { error: `bad flow ${f.f}` };
  if (f.a !== 'BTC' && f.a !== 'ETH') return { error: `bad asset ${f.a}` };
  if (!isStep(step)) return { error: `bad step ${f.s}` };
  if (!Number.isInteger(attempt) || attempt < 1) return { error: `bad attempt ${f.n}` };
  if (!Number.isFinite(t0)) return { error: `bad t0 ${f.t}` };
  return {
    orderId: f.o,
    userId: f.u,
    flow: f.f,
    asset: f.a,
    qty: f.q,
    usdt: f.p,
    step,
    attempt,
    carry: f.c ?? null,
    t0,
  };
}
