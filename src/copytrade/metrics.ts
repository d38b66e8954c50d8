import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { sharedRead } from '../infra/metrics.js';
import { fieldMap, type RedisClient } from '../infra/redis.js';
import type { BatchRecord } from './fanout/copy-store.js';
import type { FanoutResult } from './fanout/fanout.js';
import { FANOUT_GROUP } from './fanout/fanout-worker.js';
import { PartitionStreams } from './ingress/partition-streams.js';

/** What the book holds, read at scrape time. */
export interface BookSize {
  leads: number;
  follows: number;
  copiers: number;
}

/** What the fan-out tells as it works (FanoutWorker and Fanout call these). */
export interface FanoutObserver {
  /** a signal whose fan-out is recorded, received at `receivedMs` */
  fannedOut(r: FanoutResult, receivedMs: number): void;
  closedOut(): void;
  deadLettered(): void;
  /** one batch's orders and skips, written */
  recorded(record: BatchRecord): void;
  /** a batch the exchange did not answer (the signal is delivered again) */
  batchFailed(): void;
}

const SECONDS = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The copy engine's Prometheus metrics, per process (a standby shows its role token as 0
 * and no book). Counters and the histogram are fed as the fan-out works; book size, stream
 * lag and pending entries are read at scrape time.
 */
export class CopyMetrics implements FanoutObserver {
  readonly registry = new Registry();
  /** the books of the engines running in this process (one, or one per fan-out partition held) */
  private readonly books = new Map<string, () => BookSize>();
  private readonly latency = new Histogram({
    name: 'tradeflow_copy_fanout_duration_seconds',
    help: "signal received to its last copier's order recorded",
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly signals = new Counter({
    name: 'tradeflow_copy_signals_total',
    help: 'stream entries the fan-out finished, by outcome (copied, close_out, dead_letter)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly orders = new Counter({
    name: 'tradeflow_copy_orders_total',
    help: 'copy orders recorded, by status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly skips = new Counter({
    name: 'tradeflow_copy_skips_total',
    help: 'copiers that did not follow a signal, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly batchErrors = new Counter({
    name: 'tradeflow_copy_exchange_batch_errors_total',
    help: 'order batches the exchange did not answer (the signal is delivered again)',
    registers: [this.registry],
  });
  private readonly token = new Gauge({
    name: 'tradeflow_copy_role_token',
    help: 'fencing token of the fan-out role while this process holds it, else 0',
    registers: [this.registry],
  });

  /** `parts`: TF_COPY_PARTITIONS; the stream gauges are the sums over every partition's stream */
  constructor(redis: RedisClient, prefix: string, parts = 1) {
    const self = this;
    for (const part of ['leads', 'follows', 'copiers'] as const) {
      new Gauge({
        name: `tradeflow_copy_book_${part}`,
        help: `${part} in the fan-out's book (0 on a standby)`,
        registers: [this.registry],
        collect(this: Gauge) {
          let n = 0;
          for (const size of self.books.values()) n += size()[part];
          this.set(n);
        },
      });
    }
    // one XINFO a partition per scrape fills both
    const partitions = new PartitionStreams(prefix, parts);
    const read = sharedRead(async () => {
      const out = { lag: 0, pending: 0 };
      for (const part of partitions.all()) {
        const groups = (await redis.xinfo('GROUPS', partitions.stream(part)).catch(() => [])) as (
          | string
          | number
        )[][];
        const g = groups.map(fieldMap).find((f) => f.name === FANOUT_GROUP);
        out.lag += Number(g?.lag ?? 0);
        out.pending += Number(g?.pending ?? 0);
      }
      return out;
    });
    for (const [field, help] of [
      ['lag', 'entries of copy:signals not yet delivered to the fan-out'],
      ['pending', 'entries of copy:signals delivered to the fan-out but not yet acknowledged'],
    ] as const) {
      new Gauge({
        name: `tradeflow_copy_stream_${field}`,
        help,
        registers: [this.registry],
        async collect(this: Gauge) {
          this.set((await read())[field]);
        },
      });
    }
  }

  /**
   * The engine's book while it runs, null once it stopped; `key` tells the books of a
   * process's partitions apart (the gauges are their sum: each holds its own copiers).
   */
  watchBook(size: (() => BookSize) | null, key = 'book'): void {
    if (size) this.books.set(key, size);
    else this.books.delete(key);
  }

  /** The role's token while this process holds it, null when it does not. */
  holding(token: number | null): void {
    this.token.set(token ?? 0);
  }

  fannedOut(_r: FanoutResult, receivedMs: number): void {
    this.signals.inc({ outcome: 'copied' });
    this.latency.observe(Math.max(0, Date.now() - receivedMs) / 1000);
  }

  closedOut(): void {
    this.signals.inc({ outcome: 'close_out' });
  }

  deadLettered(): void {
    this.signals.inc({ outcome: 'dead_letter' });
  }

  recorded(record: BatchRecord): void {
    for (const o of record.orders) this.orders.inc({ status: o.status });
    for (const k of record.skips) this.skips.inc({ reason: k.reason });
  }

  batchFailed(): void {
    this.batchErrors.inc();
  }
}
