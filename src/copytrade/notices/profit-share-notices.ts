import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { fx } from '../domain/fixed.js';
import type { ProfitShareEvents } from '../profit-share/profit-share.js';
import { type NoticePusher, notify } from './notices.js';

/**
 * Profit share's events as notices: a withholding to the copier and the lead, a settlement
 * to both, a refund to the copier. Each dedup key names the money move it reports, so a
 * settlement run again (its events emitted again) writes nothing twice. A settlement that
 * moved no money (nothing withheld: a stop of a follow that never closed at a profit) is no news.
 */
export function profitShareNotices(pool: Pool, push: NoticePusher, log: Logger): ProfitShareEvents {
  const send = (...notices: Parameters<typeof notify>[1][]) =>
    Promise.all(notices.map((n) => notify(pool, n, push))).catch((err) =>
      log.error({ err }, 'profit-share notice not written'),
    );
  return {
    onWithheld: ({ copierId, traderId, key, amount }) => {
      const payload = { copierId, traderId, withheld: amount, key };
      return send(
        { userId: copierId, kind: 'withholding', dedupKey: `${key}:copier`, payload },
        { userId: traderId, kind: 'withholding', dedupKey: `${key}:lead`, payload },
      );
    },
    onSettled: ({ copierId, traderId, statement: st }) => {
      if (fx(st.payout) === 0n && fx(st.refund) === 0n) return;
      const base = `ps:${copierId}:${traderId}:${st.period}`;
      const payload = {
        copierId,
        traderId,
        period: st.period,
        cumulativePnl: st.cumulativePnl,
        highWaterMark: st.highWaterMark,
        payout: st.payout,
      };
      return send(
        { userId: copierId, kind: 'settlement', dedupKey: `${base}:settled:copier`, payload },
        { userId: traderId, kind: 'settlement', dedupKey: `${base}:settled:lead`, payload },
        ...(fx(st.refund) > 0n
          ? [
              {
                userId: copierId,
                kind: 'refund' as const,
                dedupKey: `${base}:refund`,
                payload: { copierId, traderId, period: st.period, refund: st.refund },
              },
            ]
          : []),
      );
    },
  };
}
