import { HttpError } from '../../infra/http.js';
import { oneOfParam } from '../api/query.js';
import type { CopierRoute } from '../api/server.js';
import type { PairStore } from './pair-store.js';

/**
 * The profit-share statements on the copiers' API, for the authenticated user:
 *   GET /profit-share/statements[?trader=T]        as a copier: its pairs (of trader T)
 *   GET /profit-share/statements?as=trader[&copier=C]  as a lead: the pairs it is the trader of
 * One row per pair and period (cumulative PnL, high-water mark, withheld, paid, refunded, and
 * the period's payout, refund and what stayed in escrow), oldest first.
 */
export function profitShareCopierRoutes(store: PairStore): CopierRoute[] {
  return [
    {
      method: 'get',
      path: '/profit-share/statements',
      query: ['trader', 'copier', 'as'],
      handle: async (userId, { query }) => {
        const as = oneOfParam(query, 'as', ['copier', 'trader'] as const);
        const other = query.get(as === 'copier' ? 'copier' : 'trader');
        if (other !== null) {
          const name = as === 'copier' ? 'copier' : 'trader';
          throw new HttpError(400, 'BAD_REQUEST', `${name}: not with as=${as} (you are the ${as})`);
        }
        const narrow = (name: string) => query.get(name) ?? undefined;
        const statements =
          as === 'copier'
            ? await store.statements({ copierId: userId, traderId: narrow('trader') })
            : await store.statements({ traderId: userId, copierId: narrow('copier') });
        return { statements };
      },
    },
  ];
}
