import * as hdr from 'hdr-histogram-js';

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Percentiles of latencies in ms, through an HdrHistogram (3 significant digits, 1 µs floor). */
export function percentiles(valuesMs: Iterable<number>): Percentiles {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const v of valuesMs) h.recordValue(Math.max(1, Math.round(v * 1000)));
  const ms = (us: number) => Math.round(us) / 1000;
  // a percentile is its bucket's highest equivalent value, which may lie above the exact max
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), h.maxValue));
  const out = {
    count: h.totalCount,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: ms(h.maxValue),
  };
  h.destroy();
  return out;
}
