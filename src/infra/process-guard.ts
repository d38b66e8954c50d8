import { Counter, register } from 'prom-client';
import type { Logger } from './log.js';

/**
 * What a long-lived process does with a failure nobody handled; one policy for every
 * command that serves (start, copy, sim, board), installed once by cli.ts.
 *
 * - An unhandled rejection is logged with its stack and counted, and the process goes on.
 *   A promise nobody awaited belongs to work whose result nobody waits for: what it should
 *   have written is recovered the way a crash would be (step outcomes and copy orders are
 *   in MySQL before a message moves on, stream entries stay pending until acknowledged,
 *   every downstream call is idempotent), so stopping would only add an outage to it.
 * - An uncaught exception is logged and ends the process (exit 1). It was thrown out of a
 *   callback half-way through a change of in-memory state (the copier book, a batch, a
 *   lock's bookkeeping) that nothing can roll back, so that state is unknown; a restart
 *   rebuilds it from MySQL and Redis.
 */

/** Registered in prom-client's default registry, so any /metrics of the process can expose it. */
export const unhandledRejections = new Counter({
  name: 'tradeflow_unhandled_rejections_total',
  help: 'promise rejections nobody handled (each is logged with its stack); the process went on',
  registers: [register],
});

let installed = false;

export function installProcessGuard(log: Logger, exit: (code: number) => void = process.exit): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    unhandledRejections.inc();
    log.error({ err: reason }, 'unhandled rejection (the process goes on)');
  });
  process.on('uncaughtException', (err, origin) => {
    log.fatal({ err, origin }, 'uncaught exception: in-memory state is unknown, exiting');
    exit(1);
  });
}
