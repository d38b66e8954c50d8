import { HttpError } from '../../infra/http.js';
import { nextCutoff } from '../domain/profit-share-cycle.js';
import type { OperatorRoute } from '../operator/routes.js';
import type { ProfitShare } from './profit-share.js';

/**
 * The operator's profit-share routes:
 *   POST /operator/profit-share/settle   body {} or {"cutoff": "2026-12-07T00:00:00Z"}: settles every
 *        pair for the current period as if it ended now (as `tradeflow profit-share settle --now`),
 *        or for the period ending at that cut-off of the cycle; answers the run (200, or 207 when
 *        some pairs failed and are named)
 *   GET  /operator/profit-share/statements?copier=C&trader=T   the statements (either or both)
 */
export function profitShareRoutes(deps: { profitShare: ProfitShare }): OperatorRoute[] {
  const { profitShare } = deps;
  return [
    {
      method: 'POST',
      path: '/operator/profit-share/settle',
      async handle({ body }) {
        const b = (body ?? {}) as Record<string, unknown>;
        if (typeof b !== 'object' || Array.isArray(b)) throw bad('body: expected a JSON object');
        for (const k of Object.keys(b))
          if (k !== 'cutoff') throw bad(`${k}: unknown field (expected cutoff)`);
        const run =
          b.cutoff === undefined
            ? await profitShare.settleNow(Date.now())
            : await profitShare.settleCycle(cutoffOf(b.cutoff, profitShare.cycle));
        return { status: run.failed.length > 0 ? 207 : 200, body: run };
      },
    },
    {
      method: 'GET',
      path: '/operator/profit-share/statements',
      async handle({ query }) {
        for (const k of query.keys()) {
          if (k !== 'copier' && k !== 'trader')
            throw bad(`unknown query parameter ${k} (expected: copier, trader)`);
        }
        const copierId = query.get('copier') ?? undefined;
        const traderId = query.get('trader') ?? undefined;
        if (copierId === undefined && traderId === undefined)
          throw bad('copier or trader (or both) is required');
        return { body: { statements: await profitShare.store.statements({ copierId, traderId }) } };
      },
    },
  ];
}

const bad = (message: string) => new HttpError(400, 'BAD_REQUEST', message);

/** An ISO time that is a cut-off of the cycle (Monday 00:00 UTC, or 00:00 UTC), as ms. */
export function cutoffOf(value: unknown, cycle: 'weekly' | 'daily'): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0 || nextCutoff(ms - 1, cycle) !== ms) {
    throw bad(
      `cutoff: expected a ${cycle} cut-off as an ISO time (${cycle === 'weekly' ? 'a Monday' : 'a day'} at 00:00 UTC, like 2026-12-07T00:00:00Z), got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}
