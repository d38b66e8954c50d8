import { FAULT_KINDS, noFaults } from './faults.js';
import { type EngineKind, type RunResult, runOk } from './result.js';

const SHORT: Record<string, string> = {
  kill9: 'kill9',
  sigstop: 'stop',
  redisRestart: 'redis',
  mysqlRestart: 'mysql',
  downstreamFaults: 'down',
};

/** One line per run: enough to tell what happened and how to replay it. */
export function runLine(r: RunResult): string {
  const faults = FAULT_KINDS.filter((k) => r.faults[k] > 0)
    .map((k) => `${SHORT[k]}×${r.faults[k]}`)
    .join(' ');
  const verdict = runOk(r) ? 'ok' : 'FAIL';
  const head =
    `${r.engine} run ${r.run} seed ${r.seed}: ${verdict} in ${r.seconds} s; faults ${faults || 'none'}; ` +
    `orders ${r.orders}, signals ${r.signals}, lost ${r.lost}, doubled ${r.doubled}, ledger ${r.ledgerOk ? 'ok' : 'WRONG'}` +
    (r.positionsMatchSlices === null
      ? ''
      : `, positions=slices ${r.positionsMatchSlices}, not accepted ${r.notAccepted}, not done ${r.signalsNotDone}`);
  const lines = [head, `    faults: ${r.faultLog.join('; ') || 'none'}`];
  if (r.error) lines.push(`    error: ${r.error}`);
  if (r.notes.length) lines.push(`    notes: ${r.notes.join('; ')}`);
  return lines.join('\n');
}

export interface Totals {
  runs: number;
  failedRuns: number;
  faults: Record<string, number>;
  orders: number;
  signals: number;
  lost: number;
  doubled: number;
  notAccepted: number;
  signalsNotDone: number;
  ledgerOk: boolean;
  positionsMatchSlices: boolean;
}

export function totals(results: RunResult[]): Totals {
  const faults = noFaults();
  for (const r of results) for (const k of FAULT_KINDS) faults[k] += r.faults[k];
  return {
    runs: results.length,
    failedRuns: results.filter((r) => !runOk(r)).length,
    faults,
    orders: results.reduce((n, r) => n + r.orders, 0),
    signals: results.reduce((n, r) => n + r.signals, 0),
    lost: results.reduce((n, r) => n + r.lost, 0),
    doubled: results.reduce((n, r) => n + r.doubled, 0),
    notAccepted: results.reduce((n, r) => n + r.notAccepted, 0),
    signalsNotDone: results.reduce((n, r) => n + r.signalsNotDone, 0),
    ledgerOk: results.every((r) => r.ledgerOk && !r.error),
    positionsMatchSlices: results.every((r) => r.positionsMatchSlices !== false),
  };
}

/** The closing table: a row per engine and one for all. */
export function table(results: RunResult[], engines: EngineKind[]): string {
  const rows = engines.map((e) => [e, totals(results.filter((r) => r.engine === e))] as const);
  if (engines.length > 1) rows.push(['all', totals(results)] as unknown as (typeof rows)[number]);
  const out = [
    '| engine | runs | failed runs | kill -9 | SIGSTOP | Redis restart/FLUSHALL | MariaDB restart | downstream faults | orders | signals | not accepted | not done | lost | doubled | ledgerOk | positionsMatchSlices |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const [e, t] of rows) {
    const f = t.faults;
    out.push(
      `| ${e} | ${t.runs} | ${t.failedRuns} | ${f.kill9} | ${f.sigstop} | ${f.redisRestart} | ${f.mysqlRestart} | ${f.downstreamFaults} | ` +
        `${t.orders} | ${t.signals} | ${t.notAccepted} | ${t.signalsNotDone} | ${t.lost} | ${t.doubled} | ${t.ledgerOk} | ${e === 'settlement' ? 'n/a' : t.positionsMatchSlices} |`,
    );
  }
  return out.join('\n');
}
