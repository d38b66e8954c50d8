import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Listening } from '../../src/infra/http.js';
import { startOpsServer } from '../../src/infra/ops-server.js';
import { headRequest, rawExchange } from '../support/raw-http.js';

describe('ops server: HEAD and HTTP/1.0', () => {
  let server: Listening | undefined;
  let port = 0;

  before(async () => {
    server = await startOpsServer('127.0.0.1', 0, {
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'up 1\n' }),
      notReady: async () => null,
    });
    port = server.port;
  });
  after(() => server?.close());

  it('is answered with the status and headers of a GET and no body (a client parser fails on one)', async () => {
    for (const [path, status] of [
      ['/healthz', 200],
      ['/readyz', 200],
      ['/metrics', 200],
      ['/nope', 404],
    ] as const) {
      const a = await rawExchange(port, headRequest(path));
      assert.equal(a.status, status, `HEAD ${path}: ${a.head}`);
      assert.equal(a.afterHead, '', `HEAD ${path} carried a body`);
    }
    // a GET still has its body
    const get = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(get.afterHead, 'ok\n');
  });

  it('answers HTTP/1.0 (health checkers such as HAProxy httpchk speak it): uWS answered none', async () => {
    for (const [path, status] of [
      ['/healthz', 200],
      ['/nope', 404],
    ] as const) {
      const a = await rawExchange(port, `GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`, 2000);
      assert.equal(a.status, status, `GET ${path} HTTP/1.0: ${JSON.stringify(a.head)}`);
    }
    const a = await rawExchange(port, 'OPTIONS / HTTP/1.0\r\n\r\n', 2000);
    assert.equal(a.status, 404);
  });

  it('answers a malformed request with 400 rather than leaving it waiting', async () => {
    const a = await rawExchange(port, '\x01\x02junk\r\n\r\n', 2000);
    assert.equal(a.status, 400);
  });
});
