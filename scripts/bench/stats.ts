/**
 * The benchmark's figures: latency percentiles in which an order that never finished
 * counts as infinitely late, and the median and spread of a figure over repetitions.
 */
import * as hdr from 'hdr-histogram-js';

/** ms; null where the percentile lands on unfinished orders (infinite latency) */
export type Ms = number | null;

export interface Latency {
  count: number;
  unfinished: number;
  p50: Ms;
  p90: Ms;
  p99: Ms;
  p99_9: Ms;
  max: Ms;
}

const HIGHEST_US = 3_600_000_000;

/**
 * Percentiles of `valuesMs` with `unfinished` more orders recorded at the histogram's
 * highest value: a percentile that reaches them is null (∞), not the slowest finished one.
 */
export function latency(valuesMs: Iterable<number>, unfinished = 0): Latency {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  });
  let finishedMax = 0;
  for (const v of valuesMs) {
    const us = Math.min(HIGHEST_US - 1, Math.max(1, Math.round(v * 1000)));
    h.recordValue(us);
    finishedMax = Math.max(finishedMax, us);
  }
  if (unfinished > 0) h.recordValueWithCount(HIGHEST_US, unfinished);
  const at = (p: number): Ms => {
    if (h.totalCount === 0) return null;
    const us = h.getValueAtPercentile(p);
    // a percentile is its bucket's highest equivalent value, which may lie above the exact max
    return us >= HIGHEST_US ? null : Math.round(Math.min(us, finishedMax)) / 1000;
  };
  const out: Latency = {
    count: h.totalCount - unfinished,
    unfinished,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p99_9: at(99.9),
    max: unfinished > 0 ? null : h.totalCount === 0 ? null : finishedMax / 1000,
  };
  h.destroy();
  return out;
}

/** ∞ (null) sorts after every number */
const byValue = (a: Ms, b: Ms) => (a === null ? (b === null ? 0 : 1) : b === null ? -1 : a - b);

export interface Spread {
  median: Ms;
  min: Ms;
  max: Ms;
}

/** Median (mean of the middle two for an even count) and range over repetitions; ∞ stays ∞. */
export function spread(values: Ms[]): Spread {
  if (values.length === 0) return { median: null, min: null, max: null };
  const s = [...values].sort(byValue);
  const mid = s.length >> 1;
  const lo = s[s.length % 2 === 1 ? mid : mid - 1] as Ms;
  const hi = s[mid] as Ms;
  const median = lo === null || hi === null ? null : (lo + hi) / 2;
  return { median, min: s[0] as Ms, max: s[s.length - 1] as Ms };
}

/** "∞" for null, else the number rounded to `digits` places. */
export const show = (v: Ms, digits = 1): string => (v === null ? '∞' : String(Number(v.toFixed(digits))));
