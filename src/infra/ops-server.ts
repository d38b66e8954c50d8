import uWS from 'uWebSockets.js';
import type { Redis } from 'ioredis';
import { type Listening, listen } from './http.js';
import type { Pool } from './mysql/client.js';

const READY_TIMEOUT_MS = 1000;

/** Why an engine cannot work right now (Redis or MySQL not answering in time), or null. */
export async function dependenciesNotReady(redis: Redis, pool: Pool): Promise<string | null> {
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
 */
export async function startOpsServer(host: string, port: number, handlers: OpsHandlers): Promise<Listening> {
  const app = uWS.App();
  type Answer = { status: string; type: string; body: string };
  const reply = (res: uWS.HttpResponse, req: uWS.HttpRequest, run: () => Promise<Answer>) => {
    // a HEAD gets the status and headers of a GET and no body: a client's parser reads none
    const head = req.getMethod() === 'head';
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    run()
      .catch((err: Error) => ({
        status: '500 Internal Server Error',
        type: 'text/plain',
        body: `${err.message}\n`,
      }))
      .then((r) => {
        if (aborted) return;
        res.cork(() => {
          res.writeStatus(r.status).writeHeader('content-type', r.type);
          if (head) res.endWithoutBody(Buffer.byteLength(r.body));
          else res.end(r.body);
        });
      });
  };
  const routes: [string, () => Promise<Answer>][] = [
    [
      '/metrics',
      async () => {
        const m = await handlers.metrics();
        return { status: '200 OK', type: m.contentType, body: m.body };
      },
    ],
    ['/healthz', async () => ({ status: '200 OK', type: 'text/plain', body: 'ok\n' })],
    [
      '/readyz',
      async () => {
        const why = await handlers.notReady();
        const notes = (handlers.notes?.() ?? []).map((n) => `${n}\n`).join('');
        return why === null
          ? { status: '200 OK', type: 'text/plain', body: `ready\n${notes}` }
          : { status: '503 Service Unavailable', type: 'text/plain', body: `not ready: ${why}\n${notes}` };
      },
    ],
  ];
  for (const [path, run] of routes) {
    app.get(path, (res, req) => reply(res, req, run));
    app.head(path, (res, req) => reply(res, req, run));
  }
  app.any('/*', (res, req) =>
    reply(res, req, async () => ({ status: '404 Not Found', type: 'text/plain', body: 'not found\n' })),
  );
  return listen(app, host, port);
}
