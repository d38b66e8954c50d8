/** The targets of issue 13, section 3, evaluated on the medians of the repetitions. */
import type { Ms } from './stats.js';

export interface RateFigures {
  rate: number;
  downstreamMs: number;
  /** medians over the repetitions */
  engine: { p99: Ms; cpuMsPerOrder: { engine: Ms; total: Ms } };
  baseline?: { p99: Ms };
}

export type TargetStatus = 'met' | 'not met' | 'not measured';
export interface Target {
  target: string;
  status: TargetStatus;
  detail: string;
}

const le = (a: Ms, b: Ms) => a !== null && (b === null || a <= b);
const ms = (v: Ms) => (v === null ? '∞' : `${Number(v.toFixed(2))}`);
const verdict = (checks: boolean[]): TargetStatus =>
  checks.length === 0 ? 'not measured' : checks.every(Boolean) ? 'met' : 'not met';

export function evaluateTargets(
  runs: RateFigures[],
  sustained: { engine: number; baseline: number | null },
): Target[] {
  const at = (rate: number, down: number) =>
    runs.find((r) => r.rate === rate && r.downstreamMs === down && r.baseline);
  const out: Target[] = [];

  const p99Runs = [200, 500].map((r) => at(r, 0)).filter((r) => r !== undefined);
  out.push({
    target: 'engine p99 ≤ baseline p99 at 200 and 500/s, downstream 0 ms',
    status:
      p99Runs.length < 2
        ? 'not measured'
        : verdict(p99Runs.map((r) => le(r.engine.p99, r.baseline?.p99 ?? null))),
    detail: p99Runs
      .map((r) => `${r.rate}/s ${ms(r.engine.p99)} vs ${ms(r.baseline?.p99 ?? null)} ms`)
      .join('; '),
  });

  out.push({
    target: 'engine highest sustained rate ≥ 1.3 × baseline',
    status:
      sustained.baseline === null
        ? 'not measured'
        : sustained.engine >= 1.3 * sustained.baseline && sustained.engine > 0
          ? 'met'
          : 'not met',
    detail: `${sustained.engine} vs ${sustained.baseline ?? '-'}/s (over the rates measured)`,
  });

  const cpuRuns = runs.filter((r) => r.downstreamMs === 0);
  out.push({
    target: 'engine CPU per order ≤ 0.6 ms (engine process), ≤ 1.2 ms (all processes)',
    status: verdict(
      cpuRuns.map((r) => le(r.engine.cpuMsPerOrder.engine, 0.6) && le(r.engine.cpuMsPerOrder.total, 1.2)),
    ),
    detail: cpuRuns
      .map((r) => `${r.rate}/s ${ms(r.engine.cpuMsPerOrder.engine)} / ${ms(r.engine.cpuMsPerOrder.total)} ms`)
      .join('; '),
  });

  const slow = at(500, 5);
  out.push({
    target: 'downstream 5 ms, 500/s: engine p99 ≤ baseline p99 + 5 ms',
    status: slow
      ? verdict([le(slow.engine.p99, slow.baseline?.p99 === null ? null : (slow.baseline?.p99 ?? 0) + 5)])
      : 'not measured',
    detail: slow ? `${ms(slow.engine.p99)} vs ${ms(slow.baseline?.p99 ?? null)} + 5 ms` : '',
  });
  return out;
}
