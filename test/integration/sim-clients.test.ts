import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createDownstream, type Downstream, DownstreamError } from '../../src/clients/downstream.js';

/** A misbehaving service: each path answers in its own wrong way. */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/svc/counter/swap': (_req, res) => res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway'),
  '/svc/funding/transfer': (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"key":'),
  '/svc/trade/market': (_req, res) =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ key: 'someone-else', price: '1' })),
  '/frozen/counter/swap': (_req, res) =>
    res
      .writeHead(422, { 'content-type': 'application/json' })
      .end(JSON.stringify({ code: 'ACCOUNT_FROZEN', message: 'user u1 is frozen' })),
  '/frozen/funding/transfer': (req) => req.socket.destroy(),
  '/frozen/trade/market': () => {
    // never answers
  },
  '/ok/counter/swap': (req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const { key } = JSON.parse(body) as { key: string };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ key, applied: true }));
    });
  },
};

let server: Server;
let base: string;
const clients: Downstream[] = [];

function downstream(prefix: string, timeoutMs = 1000): Downstream {
  const url = `${base}${prefix}`;
  const d = createDownstream({ counterUrl: url, fundingUrl: url, tradeUrl: url, timeoutMs, connections: 2 });
  clients.push(d);
  return d;
}

async function failure(call: Promise<unknown>): Promise<DownstreamError> {
  const err = await call.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DownstreamError, String(err));
  return err;
}

const swap = {
  key: 'o:1',
  orderId: 'o',
  userId: 'u1',
  flow: 'open',
  asset: 'BTC',
  qty: '1',
  usdt: '2',
} as const;
const transfer = {
  key: 'o:2',
  from: 'house:swap',
  to: 'house:funding',
  currency: 'USDT',
  amount: '2',
} as const;
const trade = { key: 'o:3', account: 'house:funding', side: 'buy', asset: 'BTC', quoteAmount: '2' } as const;

before(async () => {
  server = createServer((req, res) => {
    const route = routes[req.url ?? ''];
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('downstream client', () => {
  it('calls below the path of the base URL and returns the typed answer', async () => {
    assert.deepEqual(await downstream('/ok/').counterSwap(swap), { key: 'o:1' });
  });

  it('a JSON error body gives its code and the status', async () => {
    const err = await failure(downstream('/frozen').counterSwap(swap));
    assert.equal(err.code, 'ACCOUNT_FROZEN');
    assert.equal(err.status, 422);
    assert.equal(err.name, 'DownstreamError');
    assert.match(err.message, /user u1 is frozen/);
  });

  it('a non-JSON error response is HTTP_{status}', async () => {
    const err = await failure(downstream('/svc').counterSwap(swap));
    assert.equal(err.code, 'HTTP_502');
    assert.equal(err.status, 502);
    assert.match(err.message, /bad gateway/);
  });

  it('an unparsable 2xx body is BAD_RESPONSE, and so is an answer for another key', async () => {
    const d = downstream('/svc');
    const err = await failure(d.fundingTransfer(transfer));
    assert.deepEqual([err.code, err.status], ['BAD_RESPONSE', 200]);
    const crossed = await failure(d.tradeMarket(trade));
    assert.deepEqual([crossed.code, crossed.status], ['BAD_RESPONSE', 200]);
  });

  it('a dropped connection is UNAVAILABLE', async () => {
    const err = await failure(downstream('/frozen').fundingTransfer(transfer));
    assert.deepEqual([err.code, err.status], ['UNAVAILABLE', undefined]);
  });

  it('no answer within the timeout is TIMEOUT', async () => {
    const started = Date.now();
    const err = await failure(downstream('/frozen', 200).tradeMarket(trade));
    assert.deepEqual([err.code, err.status], ['TIMEOUT', undefined]);
    assert.ok(Date.now() - started < 1000);
  });

  it('a refused connection is UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const url = `http://127.0.0.1:${port}`;
    const d = createDownstream({
      counterUrl: url,
      fundingUrl: url,
      tradeUrl: url,
      timeoutMs: 1000,
      connections: 1,
    });
    clients.push(d);
    const err = await failure(d.counterSwap(swap));
    assert.deepEqual([err.code, err.status], ['UNAVAILABLE', undefined]);
    assert.match(err.message, /ECONNREFUSED/);
  });
});
