import { Counter, Gauge, type Registry } from 'prom-client';
import type { DriftObserver } from './drift-repair.js';

/** Drift repair's metrics, on the copy engine's registry (metrics.ts). */
export class DriftMetrics implements DriftObserver {
  private readonly repairs: Counter;
  private readonly open: Gauge;

  constructor(registry: Registry) {
    this.repairs = new Counter({
      name: 'tradeflow_copy_drift_repairs_total',
      help: 'drifts acted on, by kind (missed-open, missed-close, partial-fill, unrecorded-fill, position-mismatch) and outcome',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    });
    this.open = new Gauge({
      name: 'tradeflow_copy_drift_unrepaired',
      help: 'drifts drift repair could not repair, still open (tradeflow copy drift lists them)',
      registers: [registry],
    });
  }

  repaired(kind: string, outcome: string): void {
    this.repairs.inc({ kind, outcome });
  }

  unrepaired(open: number): void {
    this.open.set(open);
  }
}
