import type { RowDataPacket } from 'mysql2/promise';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { sharedRead } from '../../infra/metrics.js';
import type { Pool } from '../../infra/mysql/client.js';
import { fieldMap, type RedisClient } from '../../infra/redis.js';
import { LAST_STEP, STEPS } from '../domain/flows.js';
import { GROUP, streamKey } from '../domain/streams.js';
import type { StepOutcome } from '../steps/outcome-writer.js';

// Prometheus wants durations in seconds, in the name and the values (promtool refuses `_ms`); our clocks give ms
const SECONDS_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30];
const seconds = (ms: number): number => ms / 1000;

/**
 * The settlement engine's Prometheus metrics. Counters and histograms are fed as work
 * happens; stream lag, pending entries and the MANUAL count are read at scrape time.
 */
export class SettlementMetrics {
  readonly registry = new Registry();
  private readonly stepLatency = new Histogram({
    name: 'tradeflow_step_duration_seconds',
    help: 'downstream call of one step attempt, by step and outcome',
    labelNames: ['step', 'status'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly endToEnd = new Histogram({
    name: 'tradeflow_settlement_duration_seconds',
    help: 'counter row written to order DONE',
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: 'tradeflow_step_retries_total',
    help: 'step attempts that failed with a retryable error, by step and code',
    labelNames: ['step', 'code'],
    registers: [this.registry],
  });
  private readonly intake = new Counter({
    name: 'tradeflow_intake_orders_total',
    help: 'orders taken in, by source (poll, kafka, reconciler)',
    labelNames: ['source'],
    registers: [this.registry],
  });
  private readonly futureRows = new Counter({
    name: 'tradeflow_intake_future_rows_total',
    help: "counter rows rejected for a creation time further than TF_MAX_CLOCK_SKEW_MS ahead of this engine's clock, by source",
    labelNames: ['source'],
    registers: [this.registry],
  });
  private readonly clockSkew = new Gauge({
    name: 'tradeflow_intake_clock_skew_seconds',
    help: "how far ahead of this engine's clock the latest-dated counter row of the last intake batch was (0: not ahead), by source",
    labelNames: ['source'],
    registers: [this.registry],
  });

  private readonly late = new Histogram({
    name: 'tradeflow_reconciler_late_orders_seconds',
    help: 'orders the reconciler found missing and took in, by how late (counter row to found)',
    buckets: [1, 2, 5, 10, 30, 60, 300, 3600],
    registers: [this.registry],
  });
  private readonly listed = new Counter({
    name: 'tradeflow_reconciler_rows_listed_total',
    help: "counter rows the reconciler's listing returned, by look (recent: since the last pass; last: leaving the window)",
    labelNames: ['look'],
    registers: [this.registry],
  });
  private readonly handoffBatch = new Histogram({
    name: 'tradeflow_handoff_batch_orders',
    help: 'orders per hand-off call to Redis (handed to the next step or acknowledged at the last)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  private readonly coordinatorToken = new Gauge({
    name: 'tradeflow_coordinator_token',
    help: 'fencing token of the coordinator role while this process holds it, else 0',
    registers: [this.registry],
  });

  constructor(redis: RedisClient, pool: Pool, prefix: string) {
    // one XINFO pass per scrape fills both gauges
    const read = sharedRead(() => groups(redis, prefix));
    for (const [field, help] of [
      ['lag', 'entries of a step stream not yet delivered to its consumer group'],
      ['pending', 'entries of a step stream delivered but not yet acknowledged'],
    ] as const) {
      new Gauge({
        name: `tradeflow_stream_${field}`,
        help,
        labelNames: ['step'],
        registers: [this.registry],
        async collect(this: Gauge) {
          for (const [step, group] of await read()) this.set({ step }, group[field]);
        },
      });
    }
    new Gauge({
      name: 'tradeflow_orders_manual',
      help: 'orders parked MANUAL, waiting for an operator',
      registers: [this.registry],
      collect: async function (this: Gauge) {
        const [rows] = await pool.query<RowDataPacket[]>(
          "SELECT COUNT(*) AS n FROM settlement_order WHERE status='MANUAL'",
        );
        this.set(Number(rows[0]?.n ?? 0));
      },
    });
  }

  /** A step outcome that was recorded (not a stale duplicate). */
  recorded(o: StepOutcome, t0: number): void {
    this.stepLatency.observe({ step: o.step, status: o.status }, seconds(o.finishedMs - o.startedMs));
    if (o.status === 'RETRY') this.retries.inc({ step: o.step, code: o.errorCode ?? 'UNKNOWN' });
    if (o.status === 'OK' && o.step === LAST_STEP) this.endToEnd.observe(seconds(o.finishedMs - t0));
  }

  /** One hand-off call to Redis carried `orders` orders. */
  handedOn(orders: number): void {
    this.handoffBatch.observe(orders);
  }

  /** An intake batch's latest-dated row was `skewMs` ahead of this clock; `rejected` rows were too far. */
  sawSkew(source: string, skewMs: number, rejected: number): void {
    this.clockSkew.set({ source }, seconds(Math.max(0, skewMs)));
    if (rejected > 0) this.futureRows.inc({ source }, rejected);
  }

  foundLate(lateMs: number): void {
    this.late.observe(seconds(lateMs));
  }

  reconcilerListed(look: string, rows: number): void {
    this.listed.inc({ look }, rows);
  }

  /** Kafka intake is configured: its state becomes a gauge (absent when the engine does not use Kafka). */
  kafkaSource(up: () => boolean): void {
    new Gauge({
      name: 'tradeflow_kafka_source_up',
      help: 'the Kafka intake is in its consumer group and fetching (1), or not connected (0)',
      registers: [this.registry],
      collect: function (this: Gauge) {
        this.set(up() ? 1 : 0);
      },
    });
  }

  /** The token while this process holds the coordinator role, null when it does not. */
  holding(token: number | null): void {
    this.coordinatorToken.set(token ?? 0);
  }

  tookIn(source: string, n: number): void {
    if (n > 0) this.intake.inc({ source }, n);
  }
}

async function groups(
  redis: RedisClient,
  prefix: string,
): Promise<[number, { lag: number; pending: number }][]> {
  const out: [number, { lag: number; pending: number }][] = [];
  for (const step of STEPS) {
    const info = (await redis.xinfo('GROUPS', streamKey(prefix, step)).catch(() => [])) as (
      | string
      | number
    )[][];
    for (const g of info) {
      const f = fieldMap(g);
      if (f.name === GROUP) out.push([step, { lag: Number(f.lag ?? 0), pending: Number(f.pending ?? 0) }]);
    }
  }
  return out;
}
