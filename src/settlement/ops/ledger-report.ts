import type { RowDataPacket } from 'mysql2/promise';
import { createSimAdmin } from '../../clients/sim-admin.js';
import type { Pool } from '../../infra/mysql/client.js';
import { checkLedger, type LedgerCheck } from '../domain/ledger-check.js';

/** Asks the simulator for its ledger and checks it against the engine's DONE orders. */
export async function ledgerCheck(simUrl: string, pool: Pool, orderIdPrefix = ''): Promise<LedgerCheck> {
  const admin = createSimAdmin(simUrl);
  try {
    const ledger = await admin.getLedger(orderIdPrefix || undefined);
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT order_id FROM settlement_order WHERE status='DONE' AND order_id LIKE ?",
      [`${orderIdPrefix}%`],
    );
    return checkLedger(
      ledger,
      rows.map((r) => r.order_id as string),
    );
  } finally {
    await admin.close();
  }
}
