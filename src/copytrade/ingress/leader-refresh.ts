import { every } from '../../infra/periodic.js';
import { type Leader, LeaderTable } from './fill-filter.js';

/**
 * The leader table of the fill filter and of the traders' frames, reloaded every
 * `intervalMs` from wherever leaders are kept (MySQL, a cache): a new table is built aside
 * and swapped in whole, so an event never sees half a refresh. A failed load keeps the
 * table in force and is reported.
 */
export interface LeaderRefresh {
  /** the table in force (pass as the fill intake's `leaders` and the ingress's `leads`) */
  readonly table: () => LeaderTable;
  /** loads now (e.g. when a trader starts or stops leading); resolves once swapped in */
  refresh(): Promise<void>;
  /**
   * Loads soon, at most once per `intervalMs` whoever asks (a frame of a trader the table
   * does not hold yet): a flood of such frames costs one load, not one each.
   */
  refreshSoon(): void;
  stop(): Promise<void>;
}

export async function startLeaderRefresh(
  load: () => Promise<Iterable<Leader>>,
  intervalMs: number,
  onError: (err: unknown) => void,
): Promise<LeaderRefresh> {
  let table = new LeaderTable(await load());
  const refresh = async (): Promise<void> => {
    table = new LeaderTable(await load());
  };
  const timer = every(intervalMs, refresh, onError);
  let lastSoonMs = Number.NEGATIVE_INFINITY;
  const refreshSoon = (): void => {
    const now = Date.now();
    if (now - lastSoonMs < intervalMs) return;
    lastSoonMs = now;
    refresh().catch(onError);
  };
  return { table: () => table, refresh, refreshSoon, stop: () => timer.stop() };
}
