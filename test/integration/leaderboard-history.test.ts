import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { DAY_MS } from '../../src/copytrade/domain/nav.js';
import { seedTrader } from '../../src/load/copy-world.js';
import { type Child, freePort, TestWorld, waitFor } from '../support/harness.js';

/**
 * A lead's record starts before it led: its balance history on the exchange (imported here as
 * a past) is on the board from its first snapshot, with its deposits as flows.
 * Wallet: 800,000 deposited 20 days ago, 880,000 ten days ago (+10%), 836,000 five days ago
 * (−5% from the peak), 1,000,000 a day ago, and now. By hand: ROI over 30 days =
 * 1,000,000 / 800,000 − 1 = 0.25 exactly, but nav.ts chains the curve's ratios in 18 places
 * rounded down (1.1 × 0.95 × 1.196172248803827751 = 1.249999999999999999…) and reports ROI
 * down to 8 places, against the trader: 0.24999999. Max drawdown = (880,000 − 836,000) /
 * 880,000 = 0.05. Over 7 days (from 836,000 at −5 d): 1,000,000 / 836,000 − 1 = 0.19617224.
 */
describe('leaderboard: a lead’s past on the exchange', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let engine: Child | undefined;
  let api = '';

  before(async () => {
    const apiPort = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(await freePort()), TF_COPY_API_PORT: String(apiPort) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    api = `http://127.0.0.1:${apiPort}`;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
  });
  after(async () => {
    await exchange?.close();
    await world.tearDown();
  });

  it('stores the history as snapshots before the first live one and ranks the lead on it', async () => {
    await seedTrader(world.copyRows(), exchange, 'h-lead');
    const now = Date.now();
    const point = (daysAgo: number, balance: string, flow = '0') => ({
      atMs: now - daysAgo * DAY_MS,
      balance,
      flow,
    });
    await exchange.importHistory({
      account: 'h-lead',
      fills: [],
      balances: [point(20, '800000', '800000'), point(10, '880000'), point(5, '836000'), point(1, '1000000')],
    });
    engine = world.spawn(['copy'], { TF_EQUITY_SNAPSHOT_MS: '300' });
    const metrics = await waitFor('the lead on the board', async () => {
      if (engine?.proc.exitCode !== null) throw new Error(`copy exited: ${engine?.stderr.slice(-500)}`);
      const res = await fetch(`${api}/leads/h-lead`);
      if (res.status !== 200) return undefined;
      return ((await res.json()) as { metrics: Record<string, { roi: string; maxDrawdown: string }> })
        .metrics;
    });
    const [rows] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT at_ms, equity, net_flow FROM copy_equity_snapshot WHERE account_id=? ORDER BY at_ms',
      ['h-lead'],
    );
    const stored = rows.map((r) => [Number(r.at_ms), Number(r.equity), Number(r.net_flow)]);
    assert.deepEqual(stored.slice(0, 4), [
      [now - 20 * DAY_MS, 800_000, 800_000],
      [now - 10 * DAY_MS, 880_000, 0],
      [now - 5 * DAY_MS, 836_000, 0],
      [now - DAY_MS, 1_000_000, 0],
    ]);
    // the live snapshots continue the history: the same wallet, no flow of their own
    assert.ok(stored.length > 4);
    for (const s of stored.slice(4)) assert.deepEqual(s.slice(1), [1_000_000, 0]);
    assert.equal(metrics['30d']?.roi, '0.24999999');
    assert.equal(Number(metrics['30d']?.maxDrawdown), 0.05);
    assert.equal(metrics['7d']?.roi, '0.19617224');
  });
});
