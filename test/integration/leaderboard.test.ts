import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import puppeteer, { type Browser } from 'puppeteer-core';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { DAY_MS } from '../../src/copytrade/domain/nav.js';
import { signalKeyOf } from '../../src/copytrade/fanout/fanout.js';
import { BoardStore } from '../../src/copytrade/leaderboard/board-store.js';
import { BoardUpdater } from '../../src/copytrade/leaderboard/board-updater.js';
import { allLeadIds } from '../../src/copytrade/leaderboard/history.js';
import { createLogger } from '../../src/infra/log.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { type Child, freePort, TestWorld, waitFor } from '../support/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const JSON_KEYS = [
  'traderId',
  'roi',
  'pnl',
  'winRate',
  'maxDrawdown',
  'sharpe',
  'aum',
  'copiers',
  'vacancy',
  'copiersPnl',
  'copyQuality',
];

/**
 * Scripted leads: equity 1000 two days before T, 1000 × (1 − d) the day before, 1000 × (1 + r)
 * at T, so ROI r and max drawdown d over 7 or 30 days. b01 and b09 are the same (a tie on
 * every metric); b10 started 40 days before T; b11 is private and b12 suspended (never
 * listed); bfull has its one place taken (no vacancy).
 */
const SCRIPT: Record<string, { r: number; d: number }> = {
  b01: { r: 0.1, d: 0.05 },
  b02: { r: 0.1, d: 0.2 },
  b03: { r: 0.1, d: 0.01 },
  b04: { r: 0.3, d: 0.1 },
  b05: { r: 0.05, d: 0 },
  b06: { r: 0.2, d: 0.05 },
  b07: { r: 0.2, d: 0.3 },
  b08: { r: -0.1, d: 0.15 },
  b09: { r: 0.1, d: 0.05 },
  b10: { r: 0.15, d: 0.02 },
  b11: { r: 0.5, d: 0 },
  b12: { r: 0.6, d: 0 },
  bfull: { r: 0, d: 0 },
};

describe('leaderboard: snapshots from the exchange, the board in Redis, its API, CLI and page', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let redis: RedisClient;
  let api = '';
  let engine: Child | undefined;
  let apiPort = 0;
  let ingress = 0;
  let browser: Browser | undefined;
  const log = createLogger('warn', 'leaderboard-test');

  const get = async (path: string) => {
    const res = await fetch(`${api}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const snapshots = async (account: string) => {
    const [rows] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT at_ms, equity, net_flow FROM copy_equity_snapshot WHERE account_id=? ORDER BY at_ms',
      [account],
    );
    return rows.map((r) => ({ at: Number(r.at_ms), equity: Number(r.equity), netFlow: Number(r.net_flow) }));
  };
  const startCopy = async (snapshotMs: string) => {
    engine = world.spawn(['copy'], { TF_EQUITY_SNAPSHOT_MS: snapshotMs });
    await waitFor('the copy API', async () => {
      if (engine?.proc.exitCode !== null)
        throw new Error(`copy engine exited: ${engine?.stderr.slice(-500)}`);
      return (await fetch(`${api}/leaderboard`)).status === 200;
    });
  };
  /** The whole board of (metric, window), walked `limit` at a time with the cursor. */
  const walk = async (metric: string, window: string, limit: number, extra = '') => {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const q = `metric=${metric}&window=${window}&limit=${limit}${extra}${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await get(`/leaderboard?${q}`);
      assert.equal(status, 200, JSON.stringify(body));
      const items = body.items as { traderId: string }[];
      assert.ok(items.length <= limit);
      ids.push(...items.map((i) => i.traderId));
      cursor = body.next as string | null;
      if (!cursor) return ids;
    }
    throw new Error('the cursor never ended');
  };

  before(async () => {
    [ingress, apiPort] = [await freePort(), await freePort()];
    await world.setUp({ TF_COPY_INGRESS_PORT: String(ingress), TF_COPY_API_PORT: String(apiPort) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    api = `http://127.0.0.1:${apiPort}`;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    redis = createRedis(world.config.redisUrl);
  });
  after(async () => {
    await browser?.close();
    redis?.disconnect();
    await exchange?.close();
    await world.tearDown();
  });

  it("the copy engine snapshots leads' and copiers' equity from the exchange, deposits as flows, and lists the lead", async () => {
    const lead = await seedTrader(world.copyRows(), exchange, 'a-lead');
    await seedCopiers(world.copyRows(), exchange, [{ follow: follow('a-cop', 'a-lead'), usdt: '10000' }]);
    await startCopy('300');
    const first = await waitFor('two snapshots of the lead', async () => {
      const s = await snapshots('a-lead');
      return s.length >= 2 ? s : undefined;
    });
    // no position: equity is what was deposited, and the first snapshot carries all of it
    assert.deepEqual(first[0], { at: first[0]?.at, equity: 1_000_000, netFlow: 1_000_000 });
    assert.equal(first[1]?.netFlow, 0);
    const copier = await snapshots('a-cop');
    assert.equal(copier[0]?.netFlow, 10_000);
    assert.equal(copier[0]?.equity, 10_000);

    // a deposit between two snapshots is that snapshot's flow, and moves no NAV
    await exchange.createAccount({ account: 'a-lead', balances: { USDT: '500' } });
    const flowed = await waitFor('the deposit in a snapshot', async () => {
      const s = await snapshots('a-lead');
      return s.find((p) => p.netFlow === 500);
    });
    assert.equal(flowed.equity, 1_000_500);
    const [days] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT day, aum, copiers FROM copy_lead_day WHERE trader_id=?',
      ['a-lead'],
    );
    assert.equal(days[0]?.day, new Date(flowed.at).toISOString().slice(0, 10));
    assert.equal(days[0]?.copiers, 1);
    assert.ok(Number(days[0]?.aum) > 1_000_000, `aum ${days[0]?.aum}: the lead's equity and its copier's`);

    // the copier's open fills on the exchange: its equity is the wallet plus the position at the feed price
    const socket = await TraderSocket.open(ingress, lead.apiKey, lead.secret);
    try {
      const price = (await exchange.price(INSTRUMENT)).price;
      const open = signalOf('a-lead', { signalId: 'o1', price });
      assert.equal((await socket.send(open)).type, 'ack');
      await waitFor('the open', () => fannedOut(world.engineDb, signalKeyOf('a-lead', 'o1')));
      const view = await exchange.equity('a-cop');
      assert.equal(view.positions.length, 1);
      const unrealised = view.positions.reduce((a, p) => a + Number(p.unrealisedPnl), 0);
      assert.ok(Math.abs(Number(view.wallet) + unrealised - Number(view.equity)) < 1e-8);
      // the lead closes above its open: a won position, on the board without waiting for a snapshot
      const close = signalOf('a-lead', {
        signalId: 'c1',
        action: 'close',
        positionBefore: '1',
        price: String(Number(price) + 100),
      });
      assert.equal((await socket.send(close)).type, 'ack');
      await waitFor('the close', () => fannedOut(world.engineDb, signalKeyOf('a-lead', 'c1')));
    } finally {
      socket.close();
    }
    const entry = await waitFor('the win on the board', async () => {
      const { body } = await get('/leads/a-lead');
      const m = (body.metrics as Record<string, { winRate: string | null }> | undefined)?.['7d'];
      return m?.winRate === '1' ? body : undefined;
    });
    const m7 = (entry.metrics as Record<string, Record<string, unknown>>)['7d'] as Record<string, unknown>;
    assert.equal(m7.roi, '0', 'a deposit moves no NAV; the lead account itself did not trade');
    assert.equal(m7.copiers, 1);
    assert.match(String((m7.copyQuality as Record<string, unknown>).entrySlippageBps), /^-?\d+(\.\d+)?$/);
    assert.ok((entry.nav as unknown[]).length >= 2);
    engine?.kill('SIGTERM');
    await engine?.exited;
  });

  it('orders and pages the board stably (ties by trader id), lists only public approved leads, and a rebuild gives the same board', async () => {
    const T = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;
    for (const id of Object.keys(SCRIPT)) {
      await seedTrader(world.copyRows(), exchange, id, id === 'bfull' ? { maxCopiers: 1 } : {});
    }
    await seedCopiers(world.copyRows(), exchange, [{ follow: follow('full-cop', 'bfull'), usdt: '100' }]);
    const rows: (string | number)[][] = [];
    for (const [id, { r, d }] of Object.entries(SCRIPT)) {
      if (id === 'b10') rows.push([id, T - 40 * DAY_MS, '1000', '1000']);
      rows.push([id, T - 2 * DAY_MS, '1000', id === 'b10' ? '0' : '1000']);
      rows.push([id, T - DAY_MS, (1000 * (1 - d)).toFixed(2), '0']);
      rows.push([id, T, (1000 * (1 + r)).toFixed(2), '0']);
    }
    await world.engineDb.query(
      'INSERT INTO copy_equity_snapshot (account_id, at_ms, equity, net_flow) VALUES ?',
      [rows],
    );
    const status = (id: string, s: string, visibility: string) =>
      world.engineDb.query(
        `INSERT INTO copy_lead_status (trader_id, status, level, visibility, min_copy_amount, approved_ms, updated_ms)
         VALUES (?, ?, 1, ?, '0', ?, ?)`,
        [id, s, visibility, T - 2 * DAY_MS, T],
      );
    await status('b11', 'approved', 'private');
    await status('b12', 'suspended', 'public');
    // the board as the engine keeps it: every lead's entry written by the updater (a snapshot round)
    const store = new BoardStore(redis, world.config.redisPrefix);
    const updater = new BoardUpdater(world.engineDb, store, log);
    updater.touchAll();
    await updater.idle();
    await startCopy('0');

    const listed = [...Object.keys(SCRIPT).filter((id) => id !== 'b11' && id !== 'b12'), 'a-lead'].sort();
    const full = await walk('roi', '30d', 100);
    assert.deepEqual([...full].sort(), listed, 'every public approved lead, once');
    const roiOf = async (id: string) =>
      ((await get(`/leads/${id}`)).body.metrics as Record<string, { roi: string }>)['30d']?.roi as string;
    const rois = new Map<string, string>();
    for (const id of listed) rois.set(id, await roiOf(id));
    const expected = [...listed].sort((a, b) => {
      const d = Number(rois.get(b)) - Number(rois.get(a));
      return d !== 0 ? d : a < b ? -1 : 1;
    });
    assert.deepEqual(full, expected);
    assert.equal(full[0], 'b04');
    // a tie: the same history, next to each other, by id
    assert.equal(rois.get('b01'), rois.get('b09'));
    const tie = full.filter((id) => rois.get(id) === rois.get('b01'));
    assert.ok(tie.length >= 2 && tie.includes('b09'));
    assert.deepEqual(
      full.slice(full.indexOf(tie[0] as string), full.indexOf(tie[0] as string) + tie.length),
      tie,
    );
    assert.equal(full.indexOf('bfull'), full.indexOf('a-lead') + 1, 'ROI 0 both: by id');
    // pages of every size walk the same order, no duplicate, no gap
    for (const limit of [1, 2, 3, 5, 7])
      assert.deepEqual(await walk('roi', '30d', limit), full, `limit ${limit}`);
    const byDd = await walk('maxDrawdown', '7d', 4);
    assert.deepEqual(byDd.slice(0, 3), ['a-lead', 'b05', 'bfull'], 'drawdown 0, lowest first, by id');
    assert.equal(byDd[byDd.length - 1], 'b07');

    // filters, with paging through them
    assert.deepEqual(await walk('roi', '30d', 2, '&minDaysLed=30'), ['b10']);
    assert.deepEqual(
      await walk('roi', '30d', 2, '&maxDrawdown=0.05'),
      full.filter((id) => ['b01', 'b03', 'b05', 'b06', 'b09', 'b10', 'bfull', 'a-lead'].includes(id)),
    );
    assert.deepEqual(
      await walk('roi', '30d', 3, '&vacancy=true'),
      full.filter((id) => id !== 'bfull'),
    );
    assert.equal((await get('/leads/b11')).status, 404);
    assert.equal((await get('/leads/b12')).status, 404);

    // a rebuild from MySQL: every set and every hash as they were
    const before = await store.dump();
    const out = await world.run(['leaderboard', '--rebuild', '--json', '--limit', '3']);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(await store.dump(), before);
    const printed = JSON.parse(out.stdout) as Record<string, unknown>[];
    assert.equal(printed.length, 3);
    for (const row of printed) assert.deepEqual(Object.keys(row), JSON_KEYS);
    assert.deepEqual(
      printed.map((r) => r.traderId),
      full.slice(0, 3),
    );
    // a lead suspended since: gone after the rebuild, the rest in the same order
    await world.engineDb.query(
      `INSERT INTO copy_lead_status (trader_id, status, level, visibility, min_copy_amount, approved_ms, updated_ms)
       VALUES ('b04', 'suspended', 1, 'public', '0', 0, 0)`,
    );
    assert.equal((await world.run(['leaderboard', '--rebuild'])).code, 0);
    assert.deepEqual(
      await walk('roi', '30d', 4),
      full.filter((id) => id !== 'b04'),
    );
    assert.equal((await get('/leads/b04')).status, 404);
    await world.engineDb.query("DELETE FROM copy_lead_status WHERE trader_id='b04'");
    assert.equal((await world.run(['leaderboard', '--rebuild'])).code, 0);
    assert.deepEqual(await walk('roi', '30d', 100), full);
    assert.deepEqual((await allLeadIds(world.engineDb)).length, Object.keys(SCRIPT).length + 1);
  });

  it('answers 400 naming a bad parameter; the CLI exits 2 on a bad one', async () => {
    for (const [q, name] of [
      ['metric=luck', 'metric'],
      ['window=1d', 'window'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['cursor=abc', 'cursor'],
      ['minDaysLed=-1', 'minDaysLed'],
      ['maxDrawdown=2', 'maxDrawdown'],
      ['vacancy=yes', 'vacancy'],
      ['colour=red', 'colour'],
      ['metric=roi&metric=pnl', 'metric'],
    ] as const) {
      const { status, body } = await get(`/leaderboard?${q}`);
      assert.equal(status, 400, q);
      assert.equal(body.code, 'BAD_REQUEST');
      assert.match(String(body.message), new RegExp(name), q);
    }
    assert.equal((await get('/leads/nobody')).status, 404);
    const bad = await world.run(['leaderboard', '--metric', 'luck']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /metric/);
  });

  it('the page in Chromium ranks as the API does, and switching the metric re-orders it', async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: bash scripts/test-deps.sh`);
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const page = await browser.newPage();
    const shown = () =>
      page.$$eval('#board tr.lead', (trs) => trs.map((tr) => tr.getAttribute('data-trader-id') ?? ''));
    const apiOrder = async (metric: string) =>
      (
        (await get(`/leaderboard?metric=${metric}&window=30d&limit=20`)).body.items as { traderId: string }[]
      ).map((i) => i.traderId);
    const res = await page.goto(`${api}/board?metric=roi&window=30d`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    const byRoi = await shown();
    assert.deepEqual(byRoi, await apiOrder('roi'));
    assert.equal(await page.$$eval('#board tr.lead svg.nav polyline', (p) => p.length), byRoi.length);
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click('a[data-metric="maxDrawdown"]'),
    ]);
    const byDd = await shown();
    assert.deepEqual(byDd, await apiOrder('maxDrawdown'));
    assert.notDeepEqual(byDd, byRoi);
    assert.deepEqual([...byDd].sort(), [...byRoi].sort());
    // a lead's page: its statement of metrics
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click('a[href="/board/leads/b04"]'),
    ]);
    const statement = await page.$eval('#statement', (t) => t.textContent ?? '');
    assert.match(statement, /ROI/);
    assert.match(statement, /30\.00%/, 'b04 made 30% over 30 days');
    await page.close();
  });
});
