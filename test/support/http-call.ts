import { request } from 'node:http';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** the body as JSON, or undefined when it is not */
  json: Record<string, unknown> | undefined;
}

/**
 * One HTTP request to 127.0.0.1:port from the loopback address `from` (all of 127/8 is
 * local on Linux, so a test can be a remote address of its own). Rejects after `timeoutMs`.
 */
export function httpCall(
  port: number,
  opts: { method?: string; path: string; from?: string; headers?: Record<string, string>; body?: string },
  timeoutMs = 5000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: opts.from ?? '127.0.0.1',
        method: opts.method ?? 'GET',
        path: opts.path,
        headers: {
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...opts.headers,
        },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => {
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${opts.method ?? 'GET'} ${opts.path}: no answer in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
