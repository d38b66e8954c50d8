import type { RowDataPacket } from 'mysql2/promise';
import type { ExchangeClient, PositionView } from '../../clients/exchange.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { FollowAccount } from '../domain/settings.js';
import type { MarginAdded } from '../ingress/risk-events.js';
import type { MarginPayload } from './kinds.js';
import { type NoticePusher, notify } from './notices.js';

/** positions read at once, a lead's copiers told in waves of this many */
const IN_FLIGHT = 8;

/**
 * A lead added margin to a position: each copier holding a slice of it is told (a `margin`
 * notice) the lead's new liquidation price next to its own position's, read from the
 * exchange. Off the fan-out (nothing in the book changes); the dedup key names the event and
 * the copier, so the event delivered again tells nobody twice. Resolves with how many were told.
 */
export function marginNotices(deps: {
  pool: Pool;
  exchange: Pick<ExchangeClient, 'positions'>;
  push: NoticePusher;
  log: Logger;
}): (m: MarginAdded, traderId: string) => Promise<number> {
  /**
   * A copier's positions, asked up to three times; one the exchange cannot say is told without
   * its own price (null) rather than holding up the other copiers' notices, or retried for ever.
   */
  const positionsOf = async (account: string): Promise<PositionView[]> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await deps.exchange.positions(account)).positions;
      } catch (err) {
        if (attempt === 3) {
          deps.log.error({ err, account }, 'margin notice: the copier position could not be read');
          return [];
        }
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  };
  return async (m, traderId) => {
    const [rows] = await deps.pool.query<RowDataPacket[]>(
      `SELECT s.copier_id, c.account_id, f.settings FROM copy_slice s
         JOIN copy_copier c ON c.copier_id=s.copier_id
         LEFT JOIN copy_follow f ON f.copier_id=s.copier_id AND f.trader_id=s.trader_id
       WHERE s.trader_id=? AND s.instrument=? AND s.side=? AND s.qty > 0 ORDER BY s.copier_id`,
      [traderId, m.instrument, m.side],
    );
    let told = 0;
    for (let i = 0; i < rows.length; i += IN_FLIGHT) {
      const wave = rows.slice(i, i + IN_FLIGHT).map(async (r) => {
        const copierId = String(r.copier_id);
        const account = accountOf(String(r.account_id), r.settings);
        // the copier's position of that side (hedge mode), else its one position there (one-way)
        const on = (await positionsOf(account)).filter((p) => p.instrument === m.instrument);
        const held = on.find((p) => p.side === m.side) ?? on[0];
        const payload: MarginPayload = {
          traderId,
          instrument: m.instrument,
          side: m.side,
          leadMargin: m.margin,
          leadLiquidationPrice: m.liquidationPrice,
          positionSide: held?.side ?? null,
          liquidationPrice: held?.liquidationPrice ?? null,
        };
        const dedupKey = `margin/${m.account}/${m.eventId}/${m.atMs}:${copierId}`;
        if (await notify(deps.pool, { userId: copierId, kind: 'margin', dedupKey, payload }, deps.push))
          told++;
      });
      await Promise.all(wave);
    }
    return told;
  };
}

/** The exchange account of a copier's follow: its main account, or a sub-account of it. */
function accountOf(main: string, settings: unknown): string {
  if (typeof settings !== 'string') return main;
  const account = (JSON.parse(settings) as { account?: FollowAccount }).account;
  return account?.type === 'sub' ? `${main}/${account.subAccount}` : main;
}
