import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { hashToken } from '../../src/copytrade/accounts/secrets.js';
import { INSTRUMENT, seedTrader, signalOf, TraderSocket } from '../../src/load/copy-world.js';
import { type Child, freePort, TestWorld, waitFor } from '../support/harness.js';
import { httpCall } from '../support/http-call.js';

const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';
const MAX_FAILURES = 5;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Issue 12, part 1: users and credentials through the operator API (`tradeflow operator`)
 * and the CLI (`tradeflow users`), against a running copy engine: what is registered or
 * rotated works there, and what was rotated away stops working.
 */
describe('operator API and CLI: users and credentials', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let operator: Child;
  let opPort = 0;
  let apiPort = 0;
  let ingressPort = 0;
  let lead: { traderId: string; apiKey: string; secret: string };
  let n = 0;

  const op = (method: string, path: string, body?: unknown, from = '127.0.0.1', token = OPERATOR_TOKEN) =>
    httpCall(opPort, {
      method,
      path,
      from,
      headers: { authorization: `Bearer ${token}`, 'x-operator': 'test-suite' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  /** the copy API's answer to the copier's token: 200 or 401 */
  const follows = async (token: string) =>
    (await httpCall(apiPort, { path: '/follows', headers: { authorization: `Bearer ${token}` } })).status;
  /** time until `probe` holds, in ms; fails past `withinMs` */
  const within = async (what: string, withinMs: number, probe: () => Promise<boolean>) => {
    const t0 = Date.now();
    await waitFor(what, async () => (await probe()) || undefined, withinMs, 10);
    return Date.now() - t0;
  };
  const sign = async (socket: TraderSocket) =>
    socket.send(
      signalOf(lead.traderId, { signalId: `u${n++}`, price: (await exchange.price(INSTRUMENT)).price }),
    );

  before(async () => {
    [ingressPort, apiPort, opPort] = [await freePort(), await freePort(), await freePort()];
    await world.setUp({
      TF_COPY_INGRESS_PORT: String(ingressPort),
      TF_COPY_API_PORT: String(apiPort),
      TF_OPERATOR_PORT: String(opPort),
      TF_OPERATOR_TOKEN: OPERATOR_TOKEN,
      TF_OPERATOR_AUTH_MAX_FAILURES: String(MAX_FAILURES),
    });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    lead = await seedTrader(world.copyRows(), exchange, 'lead1');
    const engine = world.spawn(['copy']);
    const socket = await waitFor('the signal ingress', () => {
      if (engine.proc.exitCode !== null) throw new Error(`copy exited: ${engine.stderr.slice(-500)}`);
      return TraderSocket.open(ingressPort, lead.apiKey, lead.secret);
    });
    socket.close();
    operator = world.spawn(['operator']);
    await waitFor('the operator API', async () => {
      if (operator.proc.exitCode !== null) throw new Error(`operator exited: ${operator.stderr.slice(-500)}`);
      return (await op('GET', '/operator/users/nobody')).status === 404;
    });
  });
  after(async () => {
    await exchange?.close();
    await world.tearDown();
  });

  it('refuses to start without TF_OPERATOR_TOKEN, or with a short one', async () => {
    const none = await world.run(['operator'], { TF_OPERATOR_TOKEN: '', TF_OPERATOR_PORT: '0' });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /set TF_OPERATOR_TOKEN/);
    const short = await world.run(['operator'], { TF_OPERATOR_TOKEN: 'short', TF_OPERATOR_PORT: '0' });
    assert.equal(short.code, 2);
    assert.match(short.stderr, /TF_OPERATOR_TOKEN: expected at least 16 characters/);
    assert.ok(!short.stderr.includes('short'), 'the value is not echoed');
  });

  it('401 without a token or with a wrong one; past the limit 429 for that address, a right token too', async () => {
    const from = '127.0.0.20';
    const bare = await httpCall(opPort, { path: '/operator/users/u1', from });
    assert.equal(bare.status, 401);
    assert.equal(bare.json?.code, 'UNAUTHORIZED');
    assert.equal(bare.headers['www-authenticate'], 'Bearer realm="tradeflow operator"');
    // a wrong token of the right length, and one that is a prefix of the right one
    for (const wrong of [`${OPERATOR_TOKEN.slice(0, -1)}X`, OPERATOR_TOKEN.slice(0, 20), 'x', 'y']) {
      assert.equal((await op('GET', '/operator/users/u1', undefined, from, wrong)).status, 401);
    }
    const limited = await op('GET', '/operator/users/nobody', undefined, from);
    assert.equal(limited.status, 429);
    assert.equal(limited.json?.code, 'TOO_MANY_ATTEMPTS');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    // another address is not held up by this one
    assert.equal((await op('GET', '/operator/users/nobody', undefined, '127.0.0.21')).status, 404);
  });

  it('404, 405, 400 (bad JSON, bad id), 413 and 422 name what is wrong', async () => {
    assert.equal((await op('GET', '/operator/nothing')).json?.code, 'NOT_FOUND');
    const wrongMethod = await op('DELETE', '/operator/users');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'POST');
    const notJson = await op('POST', '/operator/users', '{"userId":');
    assert.deepEqual([notJson.status, notJson.json?.code], [400, 'INVALID_REQUEST']);
    const huge = await op('POST', '/operator/users', JSON.stringify({ userId: 'x'.repeat(70_000) }));
    assert.deepEqual([huge.status, huge.json?.code], [413, 'PAYLOAD_TOO_LARGE']);
    const badId = await op('POST', '/operator/users', { userId: 'has space' });
    assert.equal(badId.status, 422);
    assert.match(String(badId.json?.message), /^userId: expected 1-64 characters/);
    const typo = await op('POST', '/operator/users', { userId: 'u9', marginkind: 'portfolio' });
    assert.deepEqual([typo.status, typo.json?.message], [422, 'marginkind: unknown field']);
    const sub = await op('POST', '/operator/users', { userId: 'u9', account: { type: 'sub' } });
    assert.match(String(sub.json?.message), /^account\.subAccount: expected/);
    const long = await op('POST', '/operator/users', {
      userId: 'u'.repeat(60),
      account: { type: 'sub', subAccount: 'abcdef' },
    });
    assert.match(String(long.json?.message), /must fit in 64 characters/);
    const pathId = await op('POST', '/operator/users/bad%20id/token');
    assert.deepEqual([pathId.status, pathId.json?.code], [400, 'INVALID_ID']);
    assert.equal((await op('POST', '/operator/users/nobody/token')).json?.code, 'NO_SUCH_USER');
    assert.equal((await op('POST', '/operator/leads/nobody/credentials')).json?.code, 'NO_SUCH_LEAD');
    const nothing = await op('POST', '/operator/leads/lead1/credentials', { apiKey: false, secret: false });
    assert.equal(nothing.status, 422);
    const [rows] = await world.engineDb.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM copy_copier');
    assert.equal(Number(rows[0]?.n), 0, 'nothing refused was written');
  });

  it('registers over HTTP (the token once, its hash kept); rotation refuses the old token on the running API at once', async () => {
    await exchange.createAccount({ account: 'u1/copy', balances: { USDT: '1000' } });
    const reg = await op('POST', '/operator/users', {
      userId: 'u1',
      account: { type: 'sub', subAccount: 'copy' },
      marginKind: 'multi-currency',
    });
    assert.equal(reg.status, 201, reg.body);
    const token = String(reg.json?.token);
    assert.match(token, TOKEN);
    assert.deepEqual(
      { ...reg.json, token: undefined },
      { userId: 'u1', accountId: 'u1/copy', marginKind: 'multi-currency', token: undefined },
    );
    const again = await op('POST', '/operator/users', { userId: 'u1' });
    assert.deepEqual([again.status, again.json?.code], [409, 'USER_EXISTS']);
    const [[row]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT HEX(token_hash) AS h FROM copy_copier WHERE copier_id=?',
      ['u1'],
    );
    assert.equal(String(row?.h).toLowerCase(), hashToken(token).toString('hex'));
    const shown = await op('GET', '/operator/users/u1');
    assert.equal(shown.status, 200);
    assert.equal(shown.json?.accountId, 'u1/copy');
    assert.equal(shown.json?.hasToken, true);
    assert.equal(shown.json?.lead, null);
    assert.ok(!shown.body.includes(token));

    await within('the new token accepted', 3000, async () => (await follows(token)) === 200);
    const rotated = await op('POST', '/operator/users/u1/token');
    assert.equal(rotated.status, 200);
    const fresh = String(rotated.json?.token);
    assert.match(fresh, TOKEN);
    assert.notEqual(fresh, token);
    // the engine reloads on the change message: the old token goes within pub/sub's delay
    const refusedAfter = await within(
      'the old token refused',
      1000,
      async () => (await follows(token)) === 401,
    );
    assert.ok(refusedAfter < 1000);
    assert.equal(await follows(fresh), 200);
  });

  it('the CLI registers, shows and rotates; bad input exits 2 with a message', async () => {
    const reg = await world.run(['users', 'register', 'u2', '--margin', 'portfolio', '--json']);
    assert.equal(reg.code, 0, reg.stderr);
    const user = JSON.parse(reg.stdout);
    assert.deepEqual(
      { ...user, token: 'T' },
      {
        userId: 'u2',
        accountId: 'u2',
        marginKind: 'portfolio',
        token: 'T',
      },
    );
    assert.match(user.token, TOKEN);
    await exchange.createAccount({ account: 'u2', balances: { USDT: '1000' } });
    await within('the CLI token accepted', 3000, async () => (await follows(user.token)) === 200);

    const text = await world.run(['users', 'register', 'u3', '--account', 'sub:alt']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^accountId\tu3\/alt$/m);
    assert.match(text.stdout, /shown once/);

    const rot = await world.run(['users', 'rotate-token', 'u2', '--json']);
    assert.equal(rot.code, 0, rot.stderr);
    const fresh = JSON.parse(rot.stdout).token;
    await within('the old CLI token refused', 1000, async () => (await follows(user.token)) === 401);
    assert.equal(await follows(fresh), 200);

    const show = await world.run(['users', 'show', 'u2', '--json']);
    assert.equal(JSON.parse(show.stdout).marginKind, 'portfolio');

    const bad: [string[], RegExp][] = [
      [['users', 'register', 'bad id'], /userId: expected 1-64 characters/],
      [['users', 'register', 'u2'], /USER_EXISTS: already registered: u2/],
      [['users', 'register', 'u4', '--margin', 'huge'], /marginKind: expected one of/],
      [['users', 'register', 'u4', '--account', 'other'], /--account: expected main or sub:<name>/],
      [['users', 'rotate-token', 'nobody'], /NO_SUCH_USER/],
      [['users', 'rotate-lead-credentials', 'nobody'], /NO_SUCH_LEAD/],
      [['users', 'frobnicate', 'u2'], /unknown action/],
      [['users', 'register'], /takes one id/],
      [['users', 'register', 'u4', '--colour', 'red'], /Unknown option '--colour'/],
    ];
    for (const [args, message] of bad) {
      const r = await world.run(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    const [rows] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT copier_id FROM copy_copier ORDER BY 1',
    );
    assert.deepEqual(
      rows.map((r) => r.copier_id),
      ['u1', 'u2', 'u3'],
    );
  });

  it("a lead's rotated key and secret sign; the old key is refused, and so is the old secret", async () => {
    const old = { ...lead };
    const rotated = await op('POST', '/operator/leads/lead1/credentials');
    assert.equal(rotated.status, 200, rotated.body);
    const apiKey = String(rotated.json?.apiKey);
    const secret = String(rotated.json?.secret);
    assert.notEqual(apiKey, old.apiKey);
    assert.match(secret, TOKEN);
    lead = { traderId: 'lead1', apiKey, secret };
    const socket = await waitFor(
      'the new key accepted',
      () => TraderSocket.open(ingressPort, apiKey, secret),
      3000,
    );
    assert.equal((await sign(socket)).type, 'ack');
    socket.close();
    await within('the old key refused', 1000, () =>
      TraderSocket.open(ingressPort, old.apiKey, old.secret).then(
        (s) => {
          s.close();
          return false;
        },
        () => true,
      ),
    );

    // the secret alone, from the CLI: the key stays, the old secret's frames are refused
    const cli = await world.run(['users', 'rotate-lead-credentials', 'lead1', '--secret-only', '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const next = JSON.parse(cli.stdout);
    assert.equal(next.apiKey, apiKey);
    assert.match(next.secret, TOKEN);
    await within('the new secret signs', 3000, async () => {
      const s = await TraderSocket.open(ingressPort, apiKey, next.secret);
      const answer = await sign(s);
      s.close();
      return answer.type === 'ack';
    });
    const stale = await TraderSocket.open(ingressPort, apiKey, secret);
    const refused = await sign(stale);
    stale.close();
    assert.equal(refused.type, 'error');
    const [[row]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT api_key, secret_enc FROM copy_trader WHERE trader_id=?',
      ['lead1'],
    );
    assert.equal(row?.api_key, apiKey);
    assert.ok(
      !Buffer.from(row?.secret_enc ?? '')
        .toString('latin1')
        .includes(next.secret),
      'the secret is kept encrypted',
    );
  });
});
