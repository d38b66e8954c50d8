import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type RequestHandler } from 'express';
import { authorize, type BoardAuth } from './auth.js';

export interface BoardServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function authMiddleware(auth: BoardAuth): RequestHandler {
  return (req, res, next) => {
    let url: URL;
    try {
      url = new URL(req.originalUrl, 'http://board');
    } catch {
      res.status(400).type('text/plain').send('bad request path');
      return;
    }
    const decision = authorize(auth, {
      host: req.headers.host,
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
      token: url.searchParams.get('token') ?? undefined,
    });
    if (!decision.ok) {
      res.status(decision.status).set(decision.headers).send(decision.body);
      return;
    }
    if (decision.setCookie === undefined) {
      next();
      return;
    }
    res.setHeader('set-cookie', decision.setCookie);
    if (req.method !== 'GET') {
      next();
      return;
    }
    // the secret should not stay in the address bar, the history or a Referer
    url.searchParams.delete('token');
    res.redirect(303, `${url.pathname}${url.search}`);
  };
}

/**
 * Bull Board over express: the retry queue read-only (its jobs are the engine's own
 * business), the parked queue with retries of failed jobs, which redrive parked orders, and
 * the profit-share queue (its jobs are safe to run again).
 */
export async function startBoardServer(opts: {
  host: string;
  port: number;
  auth: BoardAuth;
  retryQueue: Queue;
  parkedQueue: Queue;
  /** copy trading's profit-share cycle, withholding sweep and stopped follows */
  profitShareQueue?: Queue;
}): Promise<BoardServer> {
  const adapter = new ExpressAdapter();
  adapter.setBasePath('/');
  createBullBoard({
    queues: [
      new BullMQAdapter(opts.retryQueue, {
        readOnlyMode: true,
        description: 'step retries waiting out their backoff, then put back into their step stream',
      }),
      new BullMQAdapter(opts.parkedQueue, {
        allowRetries: true,
        description:
          'parked (MANUAL) orders, under failed with their reason; Retry redrives one from its failed step, as `tradeflow retry` does',
      }),
      ...(opts.profitShareQueue
        ? [
            new BullMQAdapter(opts.profitShareQueue, {
              allowRetries: true,
              description:
                'profit share: the cycle cut-off (cron, UTC), the withholding sweep and stopped follows; a retried job pays nothing twice',
            }),
          ]
        : []),
    ],
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'tradeflow' } },
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(authMiddleware(opts.auth));
  app.use('/', adapter.getRouter());
  // whatever fails, the answer carries no stack trace or path
  app.use(((_err, _req, res, _next) => {
    res.status(500).type('text/plain').send('internal error');
  }) as express.ErrorRequestHandler);

  const server = createServer(app);
  const bare = opts.host.replace(/^\[(.*)\]$/, '$1');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, bare, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = bare.includes(':') ? `[${bare}]` : bare;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
