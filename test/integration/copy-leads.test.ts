// biome-ignore-all lint/suspicious/noExplicitAny: the JSON answers are read field by field
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import {
  type BalancePoint,
  createExchangeClient,
  DownstreamError,
  type ExchangeClient,
  type HistoryFill,
} from '../../src/clients/exchange.js';
import { hashToken } from '../../src/copytrade/accounts/secrets.js';
import { copierChanged } from '../../src/copytrade/copy-changes.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { signalKeyOf } from '../../src/copytrade/fanout/fanout.js';
import type { ApprovalDeps } from '../../src/copytrade/leads/applications.js';
import { suspend } from '../../src/copytrade/leads/lead-reviews.js';
import { leadRoutes } from '../../src/copytrade/operator/lead-routes.js';
import type { OperatorRoute } from '../../src/copytrade/operator/routes.js';
import {
  type CopyRows,
  fannedOut,
  follow,
  INSTRUMENT,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';

const DAY = 86_400_000;

/**
 * Lead applications end to end on the real MySQL, Redis, simulator and copy engine: users
 * with past histories imported into the simulator apply over the copiers' API, eligibility
 * is decided from those histories, operators approve, reject, suspend and resume (CLI as a
 * child process, the operator routes, the services), and the running engine copies, or
 * skips, the lead's signals accordingly.
 */
describe('lead applications, reviews and their enforcement', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let rows: CopyRows;
  let api: string;
  let ingressPort: number;
  let deps: ApprovalDeps;
  let operator: OperatorRoute[];
  const sockets: TraderSocket[] = [];
  let n = 0;
  let engineUp = false;

  const call = async (method: string, path: string, user: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer token-${user}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const op = async (
    method: string,
    path: string,
    params: Record<string, string>,
    body?: unknown,
    query = '',
  ) => {
    const route = operator.find((r) => r.method === method && r.path === path);
    assert.ok(route, `${method} ${path}`);
    return route.handle({ params, query: new URLSearchParams(query), body, actor: 'test-op' });
  };
  const cli = (...args: string[]) => world.run(['leads', ...args]);
  const followBody = (over: Record<string, unknown> = {}) => {
    const { copierId: _c, traderId: _t, status: _s, ...rest } = follow('x', 'x');
    return { ...rest, ...over };
  };

  /** A user: a copier row with its token and an exchange account funded with `usdt`. */
  const seedUser = async (userId: string, usdt: string, account = userId) => {
    await world.engineDb.query(
      'INSERT INTO copy_copier (copier_id, token_hash, account_id, margin_kind, updated_ms) VALUES (?, ?, ?, ?, ?)',
      [userId, hashToken(`token-${userId}`), account, 'single-currency', Date.now()],
    );
    await exchange.createAccount({ account, balances: { USDT: usdt } });
    await rows.publish(copierChanged(userId));
    // once the engine runs: its credentials reload on the message, a moment later
    if (engineUp) {
      await waitFor(
        `${userId} authenticates`,
        async () => (await call('GET', '/lead-applications', userId)).status === 200,
        10_000,
        250,
      );
    }
  };

  /** A past history ending at `balances`' last point; `closes` closed positions; first fill `firstDaysAgo` (+1 minute). */
  const importHistory = async (
    account: string,
    opts: {
      firstDaysAgo: number;
      closes: number;
      balances: [daysAgo: number, balance: string, flow?: string][];
    },
  ) => {
    const now = Date.now();
    const first = now - opts.firstDaysAgo * DAY - 60_000;
    const fill = (atMs: number, action: 'open' | 'close'): HistoryFill => ({
      atMs,
      instrument: INSTRUMENT,
      side: 'long',
      action,
      qty: '0.1',
      price: '60000',
      fee: '0.3',
      realisedPnl: action === 'close' ? '1' : '0',
      positionAfter: action === 'close' ? '0' : '0.1',
    });
    const fills: HistoryFill[] = [fill(first, 'open')];
    for (let i = 0; i < opts.closes; i++) fills.push(fill(first + (i + 1) * 1000, 'close'));
    const balances: BalancePoint[] = opts.balances.map(([d, balance, flow]) => ({
      atMs: now - d * DAY,
      balance,
      flow: flow ?? '0',
    }));
    await exchange.importHistory({ account, fills, balances });
  };
  /** eligible by every default criterion, with room */
  const goodHistory = (account: string, wallet: string) =>
    importHistory(account, {
      firstDaysAgo: 60,
      closes: 25,
      balances: [
        [59, '1000', '1000'],
        [20, '1100'],
        [1, wallet],
      ],
    });

  const application = (over: Record<string, unknown> = {}) => ({
    instruments: [INSTRUMENT],
    profitShareRatio: '0.1',
    visibility: 'public',
    minCopyAmount: '50',
    signalSource: 'frames',
    ...over,
  });

  const send = async (socket: TraderSocket, traderId: string, over: Partial<TraderSignal>) => {
    const price = (await exchange.price(INSTRUMENT)).price;
    const s = signalOf(traderId, { signalId: `L${n++}`, price, ...over });
    const ack = await socket.send(s);
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    const key = signalKeyOf(traderId, s.signalId);
    await waitFor(`${key} fanned out`, () => fannedOut(world.engineDb, key), 30_000, 20);
    const [orders] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT copier_id FROM copy_order WHERE signal_key=? AND status='FILLED' ORDER BY copier_id",
      [key],
    );
    const [skips] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT copier_id, reason FROM copy_skip WHERE signal_key=? ORDER BY copier_id',
      [key],
    );
    return { orders: orders.map((o) => o.copier_id), skips: skips.map((k) => `${k.copier_id}:${k.reason}`) };
  };

  const reviews = async (traderId: string) => {
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT action, reason, actor FROM copy_lead_review WHERE trader_id=? ORDER BY review_id',
      [traderId],
    );
    return r.map((x) => `${x.action}:${x.reason}`);
  };

  before(async () => {
    ingressPort = await freePort();
    const apiPort = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(ingressPort), TF_COPY_API_PORT: String(apiPort) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    api = `http://127.0.0.1:${apiPort}`;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    rows = world.copyRows();
    deps = {
      pool: world.engineDb,
      publish: rows.publish,
      levels: world.config.leadLevels,
      secretKey: world.config.secretKey,
    };
    operator = leadRoutes(deps);
    // alice trades from an account named otherwise than she is
    await seedUser('alice', '1200', 'acct-alice');
    await goodHistory('acct-alice', '1200');
    for (const c of ['c1', 'c2', 'c3', 'c4', 'c5']) await seedUser(c, '10000');
    world.spawn(['copy']);
    await waitFor(
      'the copiers API',
      async () => (await call('GET', '/lead-applications', 'c1')).status === 200,
    );
    engineUp = true;
  });
  after(async () => {
    for (const s of sockets) s.close();
    await exchange?.close();
    await world.tearDown();
  });

  it('the simulator keeps fills and balance points, and imports only a consistent past', async () => {
    const h = await exchange.history('acct-alice');
    assert.equal(h.fills.length, 26);
    assert.equal(h.balances.at(-1)?.balance, '1200');
    assert.equal((await exchange.history('acct-alice', Date.now() - 30 * DAY)).balances.length, 2);
    // a live trade is recorded with its fee, and a balance point after it
    await exchange.placeOrder({
      account: 'c5',
      clientOrderId: 'h1',
      instrument: INSTRUMENT,
      side: 'buy',
      qty: '0.01',
    });
    const live = await exchange.history('c5');
    assert.deepEqual(
      live.balances.map((b) => b.flow),
      ['10000', '0'],
    );
    assert.equal(live.fills.length, 1);
    assert.equal(live.fills[0]?.action, 'open');
    assert.ok(Number(live.fills[0]?.fee) > 0);
    assert.equal(Number(live.balances[1]?.balance), 10000 - Number(live.fills[0]?.fee));
    assert.ok(live.firstFillMs !== null);
    const refused = async (body: unknown, code: string) => {
      const res = await fetch(`${world.config.counterUrl}/exchange/history`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(((await res.json()) as { code: string }).code, code, JSON.stringify(body));
    };
    await refused(
      { account: 'c4', balances: [{ atMs: Date.now() - DAY, balance: '5' }] },
      'HISTORY_MISMATCH',
    );
    await refused(
      { account: 'c4', balances: [{ atMs: Date.now() + DAY, balance: '10000' }] },
      'INVALID_REQUEST',
    );
    await refused({ account: 'nobody', fills: [] }, 'UNKNOWN_ACCOUNT');
  });

  it('eligibility through the simulator: at every threshold eligible, one cent under the balance not', async () => {
    // every criterion exactly at its threshold: 30 days, 20 closes, ROI 0, drawdown 0.5, 500 USDT
    const edge = (wallet: string, low: string) => ({
      firstDaysAgo: 30,
      closes: 20,
      balances: [
        [29, wallet, wallet],
        [10, low],
        [1, wallet],
      ] as [number, string, string?][],
    });
    await seedUser('dave', '500');
    await importHistory('dave', edge('500', '250'));
    const dave = await call('POST', '/lead-applications', 'dave', application());
    assert.equal(dave.status, 200, JSON.stringify(dave.body));
    assert.equal(dave.body.application.status, 'pending');
    assert.deepEqual(
      dave.body.application.eligibility.criteria.map((c: any) => `${c.name}=${c.value}:${c.passed}`),
      [
        'daysSinceFirstTrade=30:true',
        'closedPositions=20:true',
        'roi30d=0:true',
        'maxDrawdown30d=0.5:true',
        'tradingBalance=500:true',
      ],
    );
    await seedUser('eve', '499.99');
    await importHistory('eve', edge('499.99', '249.995'));
    const eve = await call('POST', '/lead-applications', 'eve', application());
    assert.equal(eve.body.application.status, 'ineligible');
    assert.equal(eve.body.application.reason, 'not eligible: tradingBalance 499.99 < 500');
    // 29 days and 19 closes: both named
    await seedUser('bob', '1000');
    await importHistory('bob', {
      firstDaysAgo: 29,
      closes: 19,
      balances: [
        [28, '1000', '1000'],
        [1, '1000'],
      ],
    });
    const bob = await call('POST', '/lead-applications', 'bob', application());
    assert.equal(bob.body.application.status, 'ineligible');
    assert.equal(
      bob.body.application.reason,
      'not eligible: daysSinceFirstTrade 29 < 30; closedPositions 19 < 20',
    );
    const [[row]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT eligible, eligibility FROM copy_lead_application WHERE application_id=?',
      [bob.body.application.applicationId],
    );
    assert.equal(Number(row?.eligible), 0);
    assert.equal(JSON.parse(row?.eligibility).criteria.length, 5);
    // the ineligible list, as the operator sees it; an ineligible application is not for review
    const listed = (await op('GET', '/operator/lead-applications', {}, undefined, 'status=ineligible'))
      .body as any;
    assert.deepEqual(listed.applications.map((a: any) => a.userId).sort(), ['bob', 'eve']);
    const again = await cli('reject', bob.body.application.applicationId, '--reason', 'no');
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /NOT_PENDING/);
  });

  it('bad applications are refused with a code; one pending at a time', async () => {
    const bad = await call('POST', '/lead-applications', 'alice', application({ visibility: 'secret' }));
    assert.equal(bad.status, 422);
    assert.equal(bad.body.code, 'INVALID_APPLICATION');
    assert.match(bad.body.message, /^visibility/);
    const high = await call('POST', '/lead-applications', 'alice', application({ profitShareRatio: '0.2' }));
    assert.equal(high.status, 422);
    assert.equal(high.body.code, 'RATIO_ABOVE_LEVEL');
    assert.equal((await call('POST', '/lead-applications', 'alice', application())).status, 200);
    const twice = await call('POST', '/lead-applications', 'alice', application());
    assert.equal(twice.status, 409);
    assert.equal(twice.body.code, 'APPLICATION_PENDING');
  });

  it('approved (CLI), the lead is copied; suspended, every copier skips within a second; resumed, copied again', async () => {
    const mine = await call('GET', '/lead-applications', 'alice');
    const app = mine.body.applications[0];
    assert.equal(app.status, 'pending');
    const approved = await cli('approve', app.applicationId, '--reason', 'track record checked', '--json');
    assert.equal(approved.code, 0, approved.stderr);
    const out = JSON.parse(approved.stdout);
    assert.equal(out.traderId, 'alice');
    assert.equal(out.level, 1);
    assert.ok(out.credentials.secret.length >= 20);
    const [[t]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT settings, secret_enc FROM copy_trader WHERE trader_id=?',
      ['alice'],
    );
    assert.equal(JSON.parse(t?.settings).maxCopiers, 100);
    assert.ok(
      !Buffer.from(t?.secret_enc).toString('latin1').includes(out.credentials.secret),
      'the secret is kept encrypted',
    );
    assert.equal(
      (await call('POST', '/lead-applications', 'alice', application())).body.code,
      'ALREADY_LEAD',
    );

    for (const c of ['c1', 'c2', 'c3']) {
      const f = await call('PUT', '/follows/alice', c, followBody());
      assert.equal(f.status, 200, JSON.stringify(f.body));
    }
    const socket = await waitFor('alice signs in', () =>
      TraderSocket.open(ingressPort, out.credentials.apiKey, out.credentials.secret),
    );
    sockets.push(socket);
    assert.deepEqual((await send(socket, 'alice', {})).orders, ['c1', 'c2', 'c3']);

    await suspend(deps, 'alice', 'under investigation', 'test-op');
    const suspendedAt = Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - suspendedAt))));
    const skipped = await send(socket, 'alice', { action: 'close', positionBefore: '1' });
    assert.deepEqual(skipped.orders, []);
    assert.deepEqual(skipped.skips, ['c1:lead-suspended', 'c2:lead-suspended', 'c3:lead-suspended']);
    // a suspended lead takes no new follows
    assert.equal((await call('PUT', '/follows/alice', 'c4', followBody())).body.code, 'LEAD_SUSPENDED');

    const resumed = await cli('resume', 'alice', '--reason', 'cleared');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.stdout.trim(), 'alice is approved');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual((await send(socket, 'alice', { action: 'close', positionBefore: '1' })).orders, [
      'c1',
      'c2',
      'c3',
    ]);
    assert.deepEqual(await reviews('alice'), [
      'approve:track record checked',
      'suspend:under investigation',
      'resume:cleared',
    ]);
  });

  it('rejected with a reason (CLI); the application shows it', async () => {
    await seedUser('frank', '1200');
    await goodHistory('frank', '1200');
    const app = (await call('POST', '/lead-applications', 'frank', application())).body.application;
    const r = await cli('reject', app.applicationId, '--reason', 'incomplete KYC');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `rejected ${app.applicationId} of frank: incomplete KYC`);
    const shown = await cli('show', app.applicationId, '--json');
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).status, 'rejected');
    assert.equal(JSON.parse(shown.stdout).reason, 'incomplete KYC');
    const [[t]] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT 1 AS x FROM copy_trader WHERE trader_id='frank'",
    );
    assert.equal(t, undefined, 'a rejected user does not lead');
  });

  it('a private program admits follows by invite code (uses, expiry); a margin below the minimum is refused', async () => {
    await seedUser('carol', '1200');
    await goodHistory('carol', '1200');
    const app = (
      await call(
        'POST',
        '/lead-applications',
        'carol',
        application({ visibility: 'private', minCopyAmount: '20', invite: { uses: 1, expiresInDays: 7 } }),
      )
    ).body.application;
    const approved = (
      await op('POST', '/operator/lead-applications/:id/approve', { id: app.applicationId }, { reason: 'ok' })
    ).body as any;
    const code = approved.invite.code as string;
    assert.equal(approved.invite.remaining, 1);

    const followCarol = (copier: string, over: Record<string, unknown> = {}) =>
      call('PUT', '/follows/carol', copier, followBody(over));
    let r = await followCarol('c4');
    assert.deepEqual([r.status, r.body.code], [403, 'INVITE_REQUIRED']);
    r = await followCarol('c4', { inviteCode: 'inv-nope' });
    assert.deepEqual([r.status, r.body.code], [403, 'INVITE_INVALID']);
    r = await followCarol('c4', { inviteCode: code, sizing: { mode: 'fixed-amount', margin: '19.99' } });
    assert.deepEqual([r.status, r.body.code], [422, 'BELOW_MIN_COPY_AMOUNT']);
    r = await followCarol('c4', { inviteCode: code, sizing: { mode: 'fixed-amount', margin: '20' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // replacing its own follow takes no use
    r = await followCarol('c4', { sizing: { mode: 'fixed-amount', margin: '25' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await followCarol('c5', { inviteCode: code });
    assert.deepEqual([r.status, r.body.code], [403, 'INVITE_USED_UP']);
    const more = (
      await op(
        'POST',
        '/operator/leads/:traderId/invites',
        { traderId: 'carol' },
        { uses: 5, expiresInDays: 1 },
      )
    ).body as any;
    await world.engineDb.query('UPDATE copy_invite SET expires_ms=? WHERE code=?', [
      Date.now() - 1,
      more.invite.code,
    ]);
    r = await followCarol('c5', { inviteCode: more.invite.code });
    assert.deepEqual([r.status, r.body.code], [403, 'INVITE_EXPIRED']);
    const [[left]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT remaining FROM copy_invite WHERE code=?',
      [code],
    );
    assert.equal(Number(left?.remaining), 0);
    // a public lead needs no code, but its minimum holds: alice copies 50 at least
    r = await call(
      'PUT',
      '/follows/alice',
      'c5',
      followBody({ sizing: { mode: 'fixed-amount', margin: '49' } }),
    );
    assert.deepEqual([r.status, r.body.code], [422, 'BELOW_MIN_COPY_AMOUNT']);
    const publicInvite = op(
      'POST',
      '/operator/leads/:traderId/invites',
      { traderId: 'alice' },
      { uses: 1, expiresInDays: 1 },
    );
    await assert.rejects(publicInvite, /public/);
  });

  it('levels follow copy_lead_day (CLI), recorded as reviews; the operator API lists and shows leads', async () => {
    const day = (ago: number) => new Date(Date.now() - ago * DAY).toISOString().slice(0, 10);
    for (let i = 0; i < 7; i++) {
      await world.engineDb.query(
        'INSERT INTO copy_lead_day (trader_id, day, aum, copiers, updated_ms) VALUES (?, ?, ?, ?, ?)',
        ['alice', day(i), '25000', 120, Date.now()],
      );
    }
    // carol: AUM enough, but 99 copiers on one of the 7 days
    for (let i = 0; i < 7; i++) {
      await world.engineDb.query(
        'INSERT INTO copy_lead_day (trader_id, day, aum, copiers, updated_ms) VALUES (?, ?, ?, ?, ?)',
        ['carol', day(i), '25000', i === 3 ? 99 : 120, Date.now()],
      );
    }
    const r = await cli('levels', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [{ traderId: 'alice', from: 1, to: 2, averageAum90d: '25000' }]);
    const shown = (await op('GET', '/operator/leads/:traderId', { traderId: 'alice' })).body as any;
    assert.equal(shown.lead.standing.level, 2);
    assert.equal(shown.lead.settings.maxCopiers, 500);
    assert.equal(shown.lead.copiers, 3);
    assert.match(shown.lead.reviews.at(-1).reason, /^L1 → L2: recomputed/);
    // run again: nothing changes
    assert.deepEqual(JSON.parse((await cli('levels', '--json')).stdout), []);
    const listed = (await op('GET', '/operator/leads', {})).body as any;
    assert.deepEqual(
      listed.leads.map(
        (l: any) => `${l.traderId}:${l.standing.status}:L${l.standing.level}:${l.standing.visibility}`,
      ),
      ['alice:approved:L2:public', 'carol:approved:L1:private'],
    );
    const level = await op(
      'POST',
      '/operator/leads/:traderId/level',
      { traderId: 'alice' },
      { level: 1, reason: 'manual' },
    );
    assert.equal((level.body as any).lead.settings.maxCopiers, 100);
  });

  it('the CLI: documented output, exit 2 on bad input', async () => {
    const list = await cli('list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^alice\tapproved\tL1\tpublic\tshare 0.1\tmax 100\tmin 50\tBTC-USDT-SWAP$/m);
    assert.match(list.stdout, /^2 lead\(s\)$/m);
    const apps = await cli('list', '--applications', '--status', 'ineligible', '--json');
    assert.equal(apps.code, 0, apps.stderr);
    assert.deepEqual(
      JSON.parse(apps.stdout)
        .map((a: any) => a.userId)
        .sort(),
      ['bob', 'eve'],
    );
    const show = await cli('show', 'alice');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /copiers 3/);
    assert.match(show.stdout, /\tsuspend\ttest-op\tunder investigation$/m);
    for (const [args, message] of [
      [[], /a subcommand is required/],
      [['frobnicate'], /unknown subcommand "frobnicate"/],
      [['approve'], /approve: an id is required/],
      [['suspend', 'alice'], /suspend: --reason "..." is required/],
      [['list', '--status', 'pending'], /--status goes with list --applications/],
      [['list', '--applications', '--status', 'maybe'], /status: expected one of/],
      [['list', '--bogus'], /Unknown option/],
      [['approve', 'app-nope', '--reason', 'x'], /NO_SUCH_APPLICATION/],
      [['suspend', 'nobody', '--reason', 'x'], /NO_SUCH_LEAD/],
      [['resume', 'alice', '--reason', 'x'], /NOT_SUSPENDED/],
    ] as [string[], RegExp][]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '');
    }
  });

  it('an unknown exchange account has never traded: ineligible, not an error', async () => {
    await world.engineDb.query(
      'INSERT INTO copy_copier (copier_id, token_hash, account_id, margin_kind, updated_ms) VALUES (?, ?, ?, ?, ?)',
      ['gina', hashToken('token-gina'), 'no-such-account', 'single-currency', Date.now()],
    );
    await rows.publish(copierChanged('gina'));
    const r = await waitFor(
      'gina authenticates',
      async () => {
        const x = await call('POST', '/lead-applications', 'gina', application());
        return x.status === 401 ? undefined : x;
      },
      10_000,
      500,
    );
    assert.equal(r.body.application.status, 'ineligible', JSON.stringify(r.body));
    await assert.rejects(
      exchange.history('no-such-account'),
      (e: unknown) => e instanceof DownstreamError && e.code === 'UNKNOWN_ACCOUNT',
    );
  });
});
