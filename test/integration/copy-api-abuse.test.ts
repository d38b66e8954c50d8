import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { follow, seedCopiers, seedTrader, TraderSocket } from '../../src/load/copy-world.js';
import { type Child, freePort, MYSQL_URL, TestWorld, waitFor } from '../support/harness.js';
import { httpCall } from '../support/http-call.js';
import { headRequest, rawExchange } from '../support/raw-http.js';
import { TcpProxy } from '../support/tcp-proxy.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request from the loopback address `from`: each test is a remote address of its own. */
const call = (
  port: number,
  opts: { method?: string; path: string; from: string; headers?: Record<string, string>; body?: string },
  timeoutMs = 3000,
): Promise<Answer> => httpCall(port, opts, timeoutMs);

/** A WebSocket upgrade request, answered with its HTTP status (101 when upgraded). */
function upgrade(port: number, path: string, from: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      localAddress: from,
      path,
      agent: false,
      timeout: 3000,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`upgrade ${path}: no answer in 3000 ms`)));
    req.on('error', reject);
    req.end();
  });
}

const MAX_FAILURES = 10;
const WINDOW_MS = 2000;

describe("copiers' API and traders' socket under bad input and bad credentials", () => {
  const world = new TestWorld();
  const mysqlUrl = new URL(MYSQL_URL);
  const proxy = new TcpProxy(mysqlUrl.hostname, Number(mysqlUrl.port || 3306));
  let exchange: ExchangeClient;
  let engine: Child;
  let apiPort = 0;
  let ingressPort = 0;
  let lead: { apiKey: string; secret: string };

  const alive = () =>
    assert.equal(engine.proc.exitCode, null, `tradeflow copy exited: ${engine.stderr.slice(-800)}`);

  before(async () => {
    [ingressPort, apiPort] = [await freePort(), await freePort()];
    await world.setUp({ TF_COPY_INGRESS_PORT: String(ingressPort), TF_COPY_API_PORT: String(apiPort) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    await proxy.open();
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    lead = await seedTrader(world.copyRows(), exchange, 'lead1');
    await seedCopiers(world.copyRows(), exchange, [{ follow: follow('ca', 'lead1'), usdt: '10000' }]);
    // the copy engine alone reaches MySQL through the proxy, so a test can stall MySQL for it
    engine = world.spawn(['copy'], {
      TF_MYSQL_URL: `mysql://root@127.0.0.1:${proxy.port}`,
      TF_COPY_AUTH_MAX_FAILURES: String(MAX_FAILURES),
      TF_COPY_AUTH_WINDOW_MS: String(WINDOW_MS),
      // no periodic reload during the tests: what MySQL sees is what the requests cause
      TF_COPY_CREDENTIALS_REFRESH_MS: '600000',
      TF_COPY_CREDENTIALS_MISS_RELOAD_MS: '600000',
      // nor of the lead table or the book, which would query MySQL while a test stalls it
      TF_COPY_LEADERS_REFRESH_MS: '600000',
      TF_COPY_BOOK_RELOAD_MS: '600000',
    });
    const socket = await waitFor('the signal ingress', () =>
      TraderSocket.open(ingressPort, lead.apiKey, lead.secret),
    );
    socket.close();
  });
  after(async () => {
    await proxy.cut();
    await exchange?.close();
    await world.tearDown();
  });

  it('a malformed or oversized body gets its 4xx with no token, a wrong one or the right one; the engine keeps serving', async () => {
    const from = '127.0.0.2';
    const tokens = { none: undefined, wrong: 'token-nobody', right: 'token-ca' };
    const bodies = { malformed: '{', oversized: JSON.stringify({ pad: 'x'.repeat(20_000) }) };
    const seen: string[] = [];
    for (const [who, token] of Object.entries(tokens)) {
      for (const [what, body] of Object.entries(bodies)) {
        const res = await call(apiPort, {
          method: 'PUT',
          path: '/follows/lead1',
          from,
          body,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
        seen.push(`${who} ${what} ${res.status}`);
        // the process must outlive each one (the original died about a tick after the answer)
        await new Promise((r) => setTimeout(r, 100));
        alive();
      }
    }
    assert.deepEqual(seen, [
      'none malformed 401',
      'none oversized 401',
      'wrong malformed 401',
      'wrong oversized 401',
      'right malformed 400',
      'right oversized 413',
    ]);
    const follows = await call(apiPort, {
      path: '/follows',
      from,
      headers: { authorization: 'Bearer token-ca' },
    });
    assert.equal(follows.status, 200);
    alive();
  });

  it('query parameters out of range or unknown get 400 naming the parameter', async () => {
    const from = '127.0.0.3';
    const get = (path: string) =>
      call(apiPort, { path, from, headers: { authorization: 'Bearer token-ca' } });
    for (const q of [
      'limit=2.5',
      'limit=0',
      'limit=-1',
      'limit=abc',
      'limit=',
      'limit=501',
      'limit=1e2',
      'limit=1&limit=2',
    ]) {
      const res = await get(`/orders?${q}`);
      assert.equal(res.status, 400, `${q}: ${res.body}`);
      assert.equal(JSON.parse(res.body).code, 'BAD_REQUEST', q);
      assert.match(JSON.parse(res.body).message, /limit/, q);
    }
    const unknown = await get('/orders?limt=5');
    assert.equal(unknown.status, 400);
    assert.match(JSON.parse(unknown.body).message, /limt/);
    assert.equal((await get('/follows?x=1')).status, 400);
    assert.equal((await get('/orders?limit=500')).status, 200);
    assert.equal((await get('/orders?limit=7')).status, 200);
    assert.equal((await get('/orders')).status, 200);
    alive();
  });

  it('HEAD gets the status and headers of a GET and no body, on a route, unauthorized, or no route', async () => {
    for (const [path, headers, status] of [
      ['/follows', { authorization: 'Bearer token-ca' }, 200],
      ['/orders?limit=5', { authorization: 'Bearer token-ca' }, 200],
      ['/follows', {}, 401],
      ['/nope', {}, 404],
    ] as const) {
      const a = await rawExchange(apiPort, headRequest(path, headers));
      assert.equal(a.status, status, `HEAD ${path}: ${a.head}`);
      assert.equal(a.afterHead, '', `HEAD ${path} carried a body`);
    }
    alive();
  });

  it('failed attempts over the limit get 429 with Retry-After; another address still gets in; the window ends it', async () => {
    const from = '127.0.0.4';
    const wrong = () =>
      call(apiPort, { path: '/follows', from, headers: { authorization: 'Bearer token-guess' } });
    const statuses: number[] = [];
    for (let i = 0; i < MAX_FAILURES + 2; i++) statuses.push((await wrong()).status);
    assert.deepEqual(statuses, [...Array(MAX_FAILURES).fill(401), 429, 429]);
    const limited = await call(apiPort, {
      path: '/follows',
      from,
      headers: { authorization: 'Bearer token-ca' },
    });
    // a blocked address is blocked for every attempt: a lucky guess would otherwise get through
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= Math.ceil(WINDOW_MS / 1000), `Retry-After ${retryAfter}`);
    const other = await call(apiPort, {
      path: '/follows',
      from: '127.0.0.5',
      headers: { authorization: 'Bearer token-ca' },
    });
    assert.equal(other.status, 200);
    // one stranger, whichever door: the traders' socket refuses that address too, not the other
    const ws = (key: string, at = from) => upgrade(ingressPort, `/traders?apiKey=${key}`, at, {});
    assert.equal((await ws('key-guess')).status, 429);
    assert.equal((await ws(lead.apiKey, '127.0.0.5')).status, 101);
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
    const later = await call(apiPort, {
      path: '/follows',
      from,
      headers: { authorization: 'Bearer token-ca' },
    });
    assert.equal(later.status, 200);
    alive();
  });

  it('with MySQL stalled, wrong tokens and API keys are answered without a query, and the right ones still get in', async () => {
    proxy.hold();
    let held = 0;
    try {
      const from = '127.0.0.6';
      const answers = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) =>
          call(apiPort, { path: '/follows', from, headers: { authorization: `Bearer wrong-${i}` } }),
        ),
        ...Array.from({ length: 20 }, (_, i) =>
          upgrade(ingressPort, `/traders?apiKey=wrong-${i}`, '127.0.0.7', {}),
        ),
      ]);
      for (const a of answers) assert.ok(a.status === 401 || a.status === 429, `${a.status} ${a.body}`);
      assert.ok(answers.some((a) => a.status === 429));
      // the trader's key is known without MySQL: the socket opens while MySQL answers nothing
      const socket = await TraderSocket.open(ingressPort, lead.apiKey, lead.secret);
      socket.close();
    } finally {
      held = proxy.release();
    }
    // the engine's own timers (its role, snapshots) may query meanwhile; no credential lookup may
    const sent = proxy.released.map((b) => b.toString('latin1'));
    const lookups = sent.filter((q) => /copy_copier|copy_trader|token_hash|api_key/.test(q));
    assert.deepEqual(
      lookups,
      [],
      `credential queries sent to MySQL while it was stalled (${held} bytes held in all)`,
    );
    alive();
  });
});
