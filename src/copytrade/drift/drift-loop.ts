import type { Logger } from '../../infra/log.js';
import type { DriftRepair } from './drift-repair.js';
import type { DriftStore } from './drift-store.js';
import type { LeadDrift } from './lead-drift.js';

export interface DriftLoop {
  /** a whole round at once, batch after batch (after a reconnect; a start does one by itself) */
  kick(): void;
  stop(): Promise<void>;
}

/**
 * Drift repair, continuously: every `intervalMs` the next `batchSize` copiers of the book
 * (all of them in turn, round after round) and the leads trading from their own fills
 * (lead-drift.ts), so the work per tick is bounded and the fan-out
 * waits for at most one copier's repair between two signals. `kick` runs a whole round at
 * once. Only while this process holds the fan-out role (the repairs write through its
 * fan-out); a sweep that fails is logged and the next one goes on.
 */
export function startDriftLoop(
  repair: DriftRepair,
  opts: {
    copierIds: () => string[];
    store: DriftStore;
    /** the lead-side comparison, every tick (leads are few) */
    leads?: LeadDrift;
    intervalMs: number;
    batchSize: number;
    holdsRole?: () => boolean;
    /** after each sweep: the reports still open */
    unrepaired?: (open: number) => void;
  },
  log: Logger,
): DriftLoop {
  let running = true;
  let cursor = 0;
  // batches left of a round asked for at once; a start is a takeover: the first round is one
  let urgent = 0;
  let kicked = true;
  let wake: () => void = () => undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    while (running) {
      if (kicked) {
        kicked = false;
        urgent = Math.max(1, Math.ceil(opts.copierIds().length / opts.batchSize));
        cursor = 0;
      }
      const now = urgent > 0;
      if (opts.holdsRole?.() !== false) {
        try {
          const ids = opts.copierIds().sort();
          if (cursor >= ids.length) cursor = 0;
          const batch = ids.slice(cursor, cursor + opts.batchSize);
          cursor += batch.length;
          // a round asked for at once acts on one look; the periodic ones confirm a position drift
          if (batch.length > 0) await repair.sweep(batch, !now);
          await opts.leads?.sweep();
          opts.unrepaired?.(await opts.store.openCount());
        } catch (err) {
          log.error({ err }, 'drift sweep failed; the next goes on');
        }
      }
      if (now) urgent--;
      if (running && urgent === 0 && !kicked) await sleep(opts.intervalMs);
    }
  })();

  return {
    kick() {
      kicked = true;
      wake();
    },
    async stop() {
      running = false;
      wake();
      await loop;
    },
  };
}
