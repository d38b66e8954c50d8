import { FAULT_ENDPOINTS, type FaultEndpoint, type FaultRule, type FaultSettings } from '../clients/wire.js';
import { InvalidRequest } from './errors.js';

export type { FaultEndpoint, FaultRule, FaultSettings };

export const DEFAULT_TIMEOUT_HOLD_MS = 10_000;
export const DEFAULT_REJECT_CODE = 'INSUFFICIENT_BALANCE';
const MAX_MS = 600_000;

const RATES = ['errorRate', 'rateLimitRate', 'timeoutRate', 'rejectRate'] as const;
const DURATIONS = ['latencyMs', 'jitterMs', 'timeoutHoldMs'] as const;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Validates settings from JSON (start-up or the admin endpoint); the error names the offending path. */
export function parseFaultSettings(value: unknown): FaultSettings {
  if (!isPlainObject(value)) throw new InvalidRequest('faults: expected an object');
  const out: FaultSettings = {};
  for (const [endpoint, rule] of Object.entries(value)) {
    if (endpoint !== '*' && !(FAULT_ENDPOINTS as readonly string[]).includes(endpoint)) {
      throw new InvalidRequest(
        `faults.${endpoint}: unknown endpoint, expected * or ${FAULT_ENDPOINTS.join(', ')}`,
      );
    }
    out[endpoint as FaultEndpoint | '*'] = parseRule(rule, `faults.${endpoint}`);
  }
  return out;
}

export function parseFaultSettingsJson(text: string): FaultSettings {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidRequest(`faults: not valid JSON (${(err as Error).message})`);
  }
  return parseFaultSettings(value);
}

function parseRule(value: unknown, path: string): FaultRule {
  if (!isPlainObject(value)) throw new InvalidRequest(`${path}: expected an object`);
  const rule: FaultRule = {};
  for (const [field, v] of Object.entries(value)) {
    const at = `${path}.${field}`;
    if ((RATES as readonly string[]).includes(field)) {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1))
        throw new InvalidRequest(`${at}: expected a number from 0 to 1`);
      rule[field as (typeof RATES)[number]] = v;
    } else if ((DURATIONS as readonly string[]).includes(field)) {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > MAX_MS) {
        throw new InvalidRequest(`${at}: expected an integer from 0 to ${MAX_MS}`);
      }
      rule[field as (typeof DURATIONS)[number]] = v as number;
    } else if (field === 'rejectCode') {
      if (typeof v !== 'string' || !CODE.test(v))
        throw new InvalidRequest(`${at}: expected a code like NOT_ALLOWED`);
      rule.rejectCode = v;
    } else {
      throw new InvalidRequest(`${at}: unknown setting`);
    }
  }
  return rule;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A rule with the `*` defaults and built-in defaults filled in, resolved once per settings change. */
export type ResolvedRule = Required<FaultRule>;

export function resolveRules(settings: FaultSettings): Record<FaultEndpoint, ResolvedRule> {
  const base = settings['*'] ?? {};
  const resolve = (rule: FaultRule = {}): ResolvedRule => ({
    latencyMs: rule.latencyMs ?? base.latencyMs ?? 0,
    jitterMs: rule.jitterMs ?? base.jitterMs ?? 0,
    errorRate: rule.errorRate ?? base.errorRate ?? 0,
    rateLimitRate: rule.rateLimitRate ?? base.rateLimitRate ?? 0,
    timeoutRate: rule.timeoutRate ?? base.timeoutRate ?? 0,
    timeoutHoldMs: rule.timeoutHoldMs ?? base.timeoutHoldMs ?? DEFAULT_TIMEOUT_HOLD_MS,
    rejectRate: rule.rejectRate ?? base.rejectRate ?? 0,
    rejectCode: rule.rejectCode ?? base.rejectCode ?? DEFAULT_REJECT_CODE,
  });
  return Object.fromEntries(FAULT_ENDPOINTS.map((e) => [e, resolve(settings[e])])) as Record<
    FaultEndpoint,
    ResolvedRule
  >;
}

export type Fault =
  | { kind: 'none' }
  | { kind: 'error'; status: 500 | 503; code: 'INTERNAL' | 'UNAVAILABLE' }
  | { kind: 'rateLimit' }
  | { kind: 'timeout'; holdMs: number }
  | { kind: 'reject'; code: string };

export interface Decision {
  /** how long the response waits (latency plus jitter); a timeout holds it `holdMs` instead */
  delayMs: number;
  fault: Fault;
}

const NONE: Fault = { kind: 'none' };
const INTERNAL: Fault = { kind: 'error', status: 500, code: 'INTERNAL' };
const UNAVAILABLE: Fault = { kind: 'error', status: 503, code: 'UNAVAILABLE' };
const RATE_LIMITED: Fault = { kind: 'rateLimit' };

/**
 * Draws the fate of one call. Faults are drawn one after the other (error, rate limit,
 * timeout, reject) and the first hit wins, so rates need not sum to 1 and a rate of 1 always
 * hits unless an earlier fault did. A rate of 0 draws nothing, which keeps tests deterministic.
 * `random` returns [0, 1), like Math.random.
 */
export function decide(rule: ResolvedRule, random: () => number): Decision {
  const delayMs = rule.latencyMs + (rule.jitterMs > 0 ? Math.floor(random() * (rule.jitterMs + 1)) : 0);
  if (rule.errorRate > 0 && random() < rule.errorRate) {
    return { delayMs, fault: random() < 0.5 ? INTERNAL : UNAVAILABLE };
  }
  if (rule.rateLimitRate > 0 && random() < rule.rateLimitRate) return { delayMs, fault: RATE_LIMITED };
  if (rule.timeoutRate > 0 && random() < rule.timeoutRate) {
    return { delayMs, fault: { kind: 'timeout', holdMs: rule.timeoutHoldMs } };
  }
  if (rule.rejectRate > 0 && random() < rule.rejectRate) {
    return { delayMs, fault: { kind: 'reject', code: rule.rejectCode } };
  }
  return { delayMs, fault: NONE };
}
