import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Listening } from './http.js';
import type { Pool } from './mysql/client.js';
import type { RedisConnection } from './redis.js';

const READY_TIMEOUT_MS = 1000;

/** Why an engine cannot work right now (Redis or MySQL not answering in time), or null. */
export async function dependenciesNotReady(redis: RedisConnection, pool: Pool): Promise<string | null> {
  const within = <T>(what: string, p: Promise<T>) =>
    Promise.race([
      p.then(() => null),
      new Promise<string>((r) =>
        setTimeout(() => r(`${what} did not answer within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS).unref(),
      ),
    ]).catch((err: Error) => `${what}: ${err.message}`);
  const [r, m] = await Promise.all([within('redis', redis.ping()), within('mysql', pool.query('SELECT 1'))]);
  return r ?? m;
}

export interface OpsHandlers {
  /** Prometheus text exposition */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** null when ready, else why not */
  notReady(): Promise<string | null>;
  /** lines added to /readyz's body either way: parts that are down without making the process unready */
  notes?(): string[];
}

/**
 * The operator's endpoints of an engine process: `/metrics` (Prometheus), `/healthz`
 * (the process answers) and `/readyz` (its dependencies answer and it is consuming).
 *
 * On node:http, not uWS: uWS answers no HTTP/1.0 request (it waits for more until its idle
 * timeout), and health checkers still speak 1.0 (HAProxy's httpchk by default); node:http
 * also answers a malformed request 400 and a HEAD with the headers alone. Three routes
 * scraped every few seconds need none of uWS's speed.
 */
export async function startOpsServer(host: string, port: number, handlers: OpsHandlers): Promise<Listening> {
  type Answer = { status: number; type: string; body: string };
  const routes = new Map<string, () => Promise<Answer>>([
    [
      '/metrics',
      async () => {
        const m = await handlers.metrics();
        return { status: 200, type: m.contentType, body: m.body };
      },
    ],
    ['/healthz', async () => ({ status: 200, type: 'text/plain', body: 'ok\n' })],
    [
      '/readyz',
      async () => {
        const why = await handlers.notReady();
        const notes = (handlers.notes?.() ?? []).map((n) => `${n}\n`).join('');
        return why === null
          ? { status: 200, type: 'text/plain', body: `ready\n${notes}` }
          : { status: 503, type: 'text/plain', body: `not ready: ${why}\n${notes}` };
      },
    ],
  ]);
  const notFound = async (): Promise<Answer> => ({ status: 404, type: 'text/plain', body: 'not found\n' });
  const server = createServer((req, res) => {
    // the path alone: a query string does not change the answer
    const path = (req.url ?? '/').split('?')[0] as string;
    const get = req.method === 'GET' || req.method === 'HEAD';
    const run = (get ? routes.get(path) : undefined) ?? notFound;
    // a body, if any, is not read: drained so that the connection can be used again
    req.resume();
    run()
      .catch((err: Error) => ({ status: 500, type: 'text/plain', body: `${err.message}\n` }))
      .then((r) => {
        if (res.destroyed) return;
        // node:http leaves the body out of a HEAD's answer itself; Content-Length is the GET's
        res.writeHead(r.status, { 'content-type': r.type, 'content-length': Buffer.byteLength(r.body) });
        res.end(r.body);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      server.close();
      // idle keep-alive connections would otherwise outlive the server
      server.closeAllConnections();
    },
  };
}
