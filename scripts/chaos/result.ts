import type { FaultCounts } from './faults.js';

export type EngineKind = 'settlement' | 'copy';

/** What one run did and what the ledgers and MySQL said afterwards. */
export interface RunResult {
  engine: EngineKind;
  run: number;
  seed: number;
  faults: FaultCounts;
  /** the faults as injected, in order: `3.2s kill9 start-1 (holder)` */
  faultLog: string[];
  orders: number;
  signals: number;
  /** orders not DONE nor MANUAL with a reason; (signal, copier) pairs neither copied nor skipped */
  lost: number;
  /** (order, step) effects or client order ids applied more than once; a copier both copied and skipped */
  doubled: number;
  ledgerOk: boolean;
  /** copy runs: signals no engine acknowledged within the bound (an engine that did not recover) */
  notAccepted: number;
  /** copy runs: accepted signals whose fan-out never recorded itself done (copy_signal.done_ms), though bounded waits passed */
  signalsNotDone: number;
  /** copy runs: every copier's exchange position equals its slices; null for settlement runs */
  positionsMatchSlices: boolean | null;
  /** what else was seen: MANUAL orders and codes, engines that exited by themselves, a fault that failed */
  notes: string[];
  seconds: number;
  /** the run could not be carried out (set-up failed); counted as a failure */
  error?: string;
}

/** A run's result before anything has happened: no faults, nothing counted, the ledger not yet checked. */
export const freshResult = (engine: EngineKind, run: number, seed: number): RunResult => ({
  engine,
  run,
  seed,
  faults: { kill9: 0, sigstop: 0, redisRestart: 0, mysqlRestart: 0, downstreamFaults: 0 },
  faultLog: [],
  orders: 0,
  signals: 0,
  lost: 0,
  doubled: 0,
  ledgerOk: false,
  notAccepted: 0,
  signalsNotDone: 0,
  positionsMatchSlices: null,
  notes: [],
  seconds: 0,
});

export const runOk = (r: RunResult): boolean =>
  !r.error &&
  r.lost === 0 &&
  r.doubled === 0 &&
  r.notAccepted === 0 &&
  r.signalsNotDone === 0 &&
  r.ledgerOk &&
  r.positionsMatchSlices !== false;
