import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { LeadSettings } from '../../src/copytrade/domain/settings.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import {
  type CopyRows,
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
  updateLead,
} from '../../src/load/copy-world.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';

/**
 * Leads, copiers and follows written while the copy engine runs, by the writers of
 * copy-world.ts (each announces its change on copy:changed): the engine's book takes them
 * without a restart.
 */
describe('copy engine: leads and copiers changed while it runs', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let rows: CopyRows;
  let port: number;
  const sockets: TraderSocket[] = [];
  let lead1: TraderSocket;

  const signal = (traderId: string, over: Partial<TraderSignal>): TraderSignal => signalOf(traderId, over);
  const open = async (t: { apiKey: string; secret: string }) => {
    const s = await waitFor('the signal ingress', () => TraderSocket.open(port, t.apiKey, t.secret), 30_000);
    sockets.push(s);
    return s;
  };
  const send = async (socket: TraderSocket, s: TraderSignal) => {
    const ack = await socket.send(s);
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    const key = `${s.signalId}@${s.traderId}`;
    await waitFor(`signal ${key} done`, () => fannedOut(world.engineDb, key), 30_000, 20);
    const [[row]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT orders FROM copy_signal WHERE signal_key=?',
      [key],
    );
    return Number(row?.orders);
  };
  /**
   * A writer's announcement reaches the engine's book in milliseconds (a few row reads and,
   * for a new copier, its balance); nothing tells the writer when, so the test gives it a
   * second before the next signal.
   */
  const announced = () => new Promise((r) => setTimeout(r, 1000));
  const price = async () => (await exchange.price(INSTRUMENT)).price;

  before(async () => {
    port = await freePort();
    await world.setUp({
      TF_COPY_INGRESS_PORT: String(port),
      TF_COPY_API_PORT: String(await freePort()),
    });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    rows = world.copyRows();
    const trader1 = await seedTrader(rows, exchange, 'lead1');
    await seedCopiers(
      rows,
      exchange,
      ['c1', 'c2', 'c3'].map((id) => ({ follow: follow(id, 'lead1'), usdt: '10000' })),
    );
    world.spawn(['copy']);
    // the ingress opens once the book is loaded: what is written from here on is a change
    lead1 = await open(trader1);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await exchange?.close();
    await world.tearDown();
  });

  it('a trader who starts leading after the engine started is copied', async () => {
    const lead2 = await seedTrader(rows, exchange, 'lead2');
    await seedCopiers(
      rows,
      exchange,
      ['d1', 'd2'].map((id) => ({ follow: follow(id, 'lead2'), usdt: '10000' })),
    );
    await announced();
    const socket = await open(lead2);
    assert.equal(await send(socket, signal('lead2', { signalId: 'n1', price: await price() })), 2);
    assert.equal(
      await send(
        socket,
        signal('lead2', { signalId: 'n2', action: 'close', positionBefore: '1', price: await price() }),
      ),
      2,
    );
  });

  it("a lead's new profit share applies to the next close, without a restart", async () => {
    const socket = lead1;
    const entry = await price();
    assert.equal(await send(socket, signal('lead1', { signalId: 'p1', price: entry })), 3);
    const lead: LeadSettings = {
      traderId: 'lead1',
      instruments: [INSTRUMENT],
      maxCopiers: 2,
      profitShareRatio: '0.25',
      onLiquidation: 'keep',
      signalSource: 'frames',
    };
    await updateLead(rows, lead);
    await announced();
    // the market up 5%: the close realises a profit for every copier
    const up = (Number(entry) * 1.05).toFixed(2);
    const res = await fetch(`${world.config.counterUrl}/admin/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ asset: 'BTC', price: up }),
    });
    assert.equal(res.status, 200, await res.text());
    assert.equal(
      await send(
        socket,
        signal('lead1', { signalId: 'p2', action: 'close', positionBefore: '1', price: up }),
      ),
      3,
    );
    const [slices] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT copier_id, realised_pnl, share_accrued FROM copy_slice WHERE trader_id='lead1' ORDER BY copier_id",
    );
    assert.equal(slices.length, 3);
    for (const s of slices) {
      assert.ok(Number(s.realised_pnl) > 0, `${s.copier_id} closed at a profit: ${s.realised_pnl}`);
      const ratio = Number(s.share_accrued) / Number(s.realised_pnl);
      assert.ok(
        Math.abs(ratio - 0.25) < 1e-6,
        `${s.copier_id}: share ${s.share_accrued} of ${s.realised_pnl}`,
      );
    }
  });
});
