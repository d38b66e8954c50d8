// biome-ignore-all lint/suspicious/noExplicitAny: the JSON answers are read field by field
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Decimal } from 'decimal.js';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { registerUsers } from '../../src/copytrade/accounts/users.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { suspend } from '../../src/copytrade/leads/lead-reviews.js';
import { money } from '../../src/domain/money.js';
import {
  type CopyRows,
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';

/**
 * A lead changes its own settings over the copiers' API (PUT /lead/settings, its copier
 * token) while the copy engine runs, on the real MySQL, Redis, simulator and engine: the
 * next close accrues profit share at the new ratio; a ratio above the level's cap, a body
 * with an unknown key, a user who does not lead and a suspended lead are refused.
 */
describe('lead settings changed by the lead over the copiers API', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let rows: CopyRows;
  let api: string;
  let ingressPort: number;
  const sockets: TraderSocket[] = [];

  const call = async (method: string, path: string, user: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer token-${user}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const put = (user: string, body: unknown) => call('PUT', '/lead/settings', user, body);
  const ratioOf = async (traderId: string) => {
    const [[r]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT settings FROM copy_trader WHERE trader_id=?',
      [traderId],
    );
    return JSON.parse(r?.settings).profitShareRatio as string;
  };

  /** A lead as approval leaves it: its copy_trader row, its user (token-{id}), its standing at level 1. */
  const seedLead = async (traderId: string) => {
    const lead = await seedTrader(rows, exchange, traderId);
    await registerUsers(
      rows,
      [{ userId: traderId, account: { type: 'main' }, marginKind: 'single-currency' }],
      { tokenOf: (id) => `token-${id}` },
    );
    await world.engineDb.query(
      `INSERT INTO copy_lead_status (trader_id, status, level, visibility, min_copy_amount, approved_ms, updated_ms)
       VALUES (?, 'approved', 1, 'public', '0', ?, ?)`,
      [traderId, Date.now(), Date.now()],
    );
    return lead;
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
  const price = async () => (await exchange.price(INSTRUMENT)).price;
  const setPrice = async (p: string) => {
    const res = await fetch(`${world.config.counterUrl}/admin/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ asset: 'BTC', price: p }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  let lead1: TraderSocket;

  before(async () => {
    ingressPort = await freePort();
    const apiPort = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(ingressPort), TF_COPY_API_PORT: String(apiPort) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    api = `http://127.0.0.1:${apiPort}`;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    rows = world.copyRows();
    const trader1 = await seedLead('lead1');
    await seedLead('lead2');
    await seedCopiers(
      rows,
      exchange,
      ['c1', 'c2'].map((id) => ({ follow: follow(id, 'lead1'), usdt: '10000' })),
    );
    world.spawn(['copy']);
    await waitFor(
      'the copiers API',
      async () => (await call('GET', '/lead/settings', 'lead1')).status === 200,
    );
    const s = await waitFor(
      'the signal ingress',
      () => TraderSocket.open(ingressPort, trader1.apiKey, trader1.secret),
      30_000,
    );
    sockets.push(s);
    lead1 = s;
  });
  after(async () => {
    for (const s of sockets) s.close();
    await exchange?.close();
    await world.tearDown();
  });

  it("the lead's new ratio applies to the next close, sent within a second of the PUT", async () => {
    const before = await call('GET', '/lead/settings', 'lead1');
    assert.equal(before.status, 200, JSON.stringify(before.body));
    assert.equal(before.body.lead.settings.profitShareRatio, '0.1');
    assert.equal(before.body.lead.standing.level, 1);
    assert.equal(before.body.lead.standing.status, 'approved');

    const entry = await price();
    assert.equal(await send(lead1, signalOf('lead1', { signalId: 'p1', price: entry })), 2);
    const changed = await put('lead1', { profitShareRatio: '0.05' });
    const putAt = Date.now();
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal(changed.body.lead.settings.profitShareRatio, '0.05');
    assert.equal(await ratioOf('lead1'), '0.05');
    // the market up 5%: the close realises a profit for both copiers
    const up = (Number(entry) * 1.05).toFixed(2);
    await setPrice(up);
    await sleep(Math.max(0, 900 - (Date.now() - putAt)));
    const close = signalOf('lead1', { signalId: 'p2', action: 'close', positionBefore: '1', price: up });
    const sent = lead1.send(close);
    assert.ok(Date.now() - putAt < 1000, `the close went ${Date.now() - putAt} ms after the PUT`);
    assert.equal((await sent).type, 'ack');
    await waitFor('p2 done', () => fannedOut(world.engineDb, 'p2@lead1'), 30_000, 20);

    const [slices] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT copier_id, qty, realised_pnl, share_accrued FROM copy_slice WHERE trader_id='lead1' ORDER BY copier_id",
    );
    assert.equal(slices.length, 2);
    for (const s of slices) {
      assert.ok(money(String(s.qty)).isZero(), `${s.copier_id} closed whole: ${s.qty}`);
      const pnl = money(String(s.realised_pnl));
      assert.ok(pnl.gt(0), `${s.copier_id} closed at a profit: ${s.realised_pnl}`);
      // one open and one whole close: the slice's realised PnL is that close's, its share at 0.05
      const expected = pnl.times('0.05').toDecimalPlaces(8, Decimal.ROUND_DOWN);
      assert.ok(
        money(String(s.share_accrued)).eq(expected),
        `${s.copier_id}: share ${s.share_accrued} of ${s.realised_pnl}, expected ${expected.toFixed()}`,
      );
    }
    const [reviews] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT action, reason, actor FROM copy_lead_review WHERE trader_id='lead1' ORDER BY review_id",
    );
    assert.deepEqual(
      reviews.map((r) => `${r.action}:${r.actor}:${r.reason}`),
      ['settings:lead1:profitShareRatio 0.1 → 0.05'],
    );
  });

  it('instruments, liquidation policy and minimum copy amount change; GET shows them', async () => {
    const res = await put('lead1', {
      instruments: [INSTRUMENT, 'ETH-USDT-SWAP'],
      onLiquidation: 'keep',
      minCopyAmount: '20.50',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const got = await call('GET', '/lead/settings', 'lead1');
    assert.deepEqual(got.body.lead.settings.instruments, [INSTRUMENT, 'ETH-USDT-SWAP']);
    assert.equal(got.body.lead.settings.onLiquidation, 'keep');
    assert.equal(got.body.lead.settings.profitShareRatio, '0.05');
    assert.equal(got.body.lead.standing.minCopyAmount, '20.5');
    const [[st]] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT min_copy_amount FROM copy_lead_status WHERE trader_id='lead1'",
    );
    assert.ok(money(String(st?.min_copy_amount)).eq('20.5'));
  });

  it('a ratio above the level cap is 422 RATIO_ABOVE_LEVEL and nothing changes', async () => {
    const high = await put('lead1', { profitShareRatio: '0.15' });
    assert.equal(high.status, 422, JSON.stringify(high.body));
    assert.equal(high.body.code, 'RATIO_ABOVE_LEVEL');
    assert.match(high.body.message, /level 1 allows a profit share of at most 0\.1/);
    assert.equal(await ratioOf('lead1'), '0.05');
  });

  it('unknown keys, bad instruments and an empty body are 422 INVALID_SETTINGS', async () => {
    for (const [body, field] of [
      [{ profitShareRatio: '0.05', maxCopiers: 5000 }, 'maxCopiers'],
      [{ instruments: ['btc usdt'] }, 'instruments[0]'],
      [{ instruments: [] }, 'instruments'],
      [{ minCopyAmount: '-1' }, 'minCopyAmount'],
      [{}, 'nothing to change'],
    ] as const) {
      const res = await put('lead1', body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.code, 'INVALID_SETTINGS', JSON.stringify(body));
      assert.ok(res.body.message.includes(field), `${JSON.stringify(body)}: ${res.body.message}`);
    }
    assert.equal(await ratioOf('lead1'), '0.05');
  });

  it('a user who does not lead is 404 NOT_A_LEAD', async () => {
    const put404 = await put('c1', { profitShareRatio: '0.05' });
    assert.equal(put404.status, 404, JSON.stringify(put404.body));
    assert.equal(put404.body.code, 'NOT_A_LEAD');
    const get404 = await call('GET', '/lead/settings', 'c1');
    assert.equal(get404.status, 404);
    assert.equal(get404.body.code, 'NOT_A_LEAD');
    const [[n]] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM copy_trader WHERE trader_id='c1'",
    );
    assert.equal(Number(n?.n), 0);
  });

  it('a suspended lead may not change its settings: 409 LEAD_SUSPENDED', async () => {
    const deps = { pool: world.engineDb, publish: rows.publish, levels: world.config.leadLevels };
    await suspend(deps, 'lead2', 'test: frozen', 'test-op');
    const res = await put('lead2', { profitShareRatio: '0.05' });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.code, 'LEAD_SUSPENDED');
    assert.equal(await ratioOf('lead2'), '0.1');
    const got = await call('GET', '/lead/settings', 'lead2');
    assert.equal(got.body.lead.standing.status, 'suspended');
  });
});
