import type { ParkedQueue } from '../ops/parked-queue.js';
import type { Duty } from './duties.js';

/**
 * Parked orders become board jobs, and retried ones leave the board. The fence row stays
 * locked for MySQL only, so the poller's cursor save never waits on Redis behind it: the
 * reads (MySQL and Redis) come before the fenced write, the Redis writes after its commit,
 * and only if the fence let it through. A run cut short after the commit is made up by the
 * next (sync is idempotent); its record counts the jobs planned.
 */
export const parkedSync = (parked: ParkedQueue, intervalMs: number): Duty => ({
  name: 'parked',
  intervalMs,
  run: async (write) => {
    const plan = await parked.plan();
    await write(async () => plan.add.length + plan.remove.length);
    await parked.apply(plan);
  },
});
