/**
 * The fuzz's clients, each bounded by a timeout: one HTTP request with any method, path,
 * headers and body; raw bytes on a TCP connection; a WebSocket upgrade whose status is read;
 * and a WebSocket session that expects one answer per frame.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { WebSocket } from 'undici';

export const HOST = '127.0.0.1';

/** What one input got back. `ok` false is a defect: 5xx, a hang, a closed connection where an answer was due. */
export interface Result {
  outcome: string;
  ok: boolean;
  detail?: string;
  /** the connection could not even be opened: the process behind it may be gone */
  refused?: boolean;
  /** not a failure, but worth a line in the report */
  note?: boolean;
}

export interface HttpInput {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export function http(
  port: number,
  input: HttpInput,
  timeoutMs: number,
): Promise<Result & { status?: number; text?: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Result & { status?: number; text?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request({
      host: HOST,
      port,
      method: input.method,
      path: input.path,
      headers: { connection: 'close', ...input.headers },
      agent: false,
    });
    const timer = setTimeout(
      () => done({ outcome: 'hang', ok: false, detail: `no answer in ${timeoutMs} ms` }),
      timeoutMs,
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8').slice(0, 300);
        done({ outcome: statusClass(status), ok: status < 500, status, text });
      });
      res.on('error', () => done({ outcome: 'reset', ok: false }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED')
        done({ outcome: 'refused', ok: false, detail: err.code, refused: true });
      // the answer to a HEAD carried a body (the client's parser then fails on it)
      else if (err.code === 'HPE_INVALID_CONSTANT' && input.method === 'HEAD')
        done({ outcome: 'head-answered-with-body', ok: false, detail: err.code });
      // answered and closed before a body it does not read was all sent: a reset, not a fault
      else if (err.code === 'ECONNRESET' && (input.body?.length ?? 0) > 8192)
        done({ outcome: 'reset-unread-body', ok: true, detail: err.code });
      else done({ outcome: 'reset', ok: false, detail: err.code });
    });
    if (input.body) req.end(input.body);
    else req.end();
  });
}

export const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`;

/**
 * Raw bytes on a TCP connection. `answers`: how many complete, well-formed requests they hold
 * (0 for junk). A well-formed request must be answered (each of them) within `timeoutMs`;
 * junk may get a 4xx, a close, or nothing: uWS answers no malformed request and waits for
 * more until its own idle timeout (~10 s), which is an HTTP server's right. Junk is given
 * `junkWaitMs`; then `waiting-for-more`, which the caller checks with a valid request.
 */
export function raw(
  port: number,
  bytes: Buffer,
  opts: { answers: number; timeoutMs: number; junkWaitMs: number },
): Promise<Result & { waiting?: boolean }> {
  const junk = opts.answers === 0;
  return new Promise((resolve) => {
    let got = '';
    let settled = false;
    const done = (r: Result & { waiting?: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const statuses = () => [...got.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
    const answered = (all: number[]) => {
      const worst = Math.max(...all);
      return { outcome: `raw:${statusClass(worst)}`, ok: worst < 500, detail: all.join(',') };
    };
    const sock = connect(port, HOST, () => sock.write(bytes));
    const timer = setTimeout(
      () => {
        const all = statuses();
        if (junk)
          done(all.length > 0 ? answered(all) : { outcome: 'raw:waiting-for-more', ok: true, waiting: true });
        else
          done({
            outcome: 'hang',
            ok: false,
            detail: `${all.length} of ${opts.answers} answers in ${opts.timeoutMs} ms`,
          });
      },
      junk ? opts.junkWaitMs : opts.timeoutMs,
    );
    sock.on('data', (d) => {
      got += d.toString('latin1');
      const all = statuses();
      // every request answered (a keep-alive connection stays open: no need to wait for its close)
      if (!junk && all.length >= opts.answers) done(answered(all));
    });
    const closed = (err?: NodeJS.ErrnoException) => {
      if (err?.code === 'ECONNREFUSED') return done({ outcome: 'refused', ok: false, refused: true });
      const all = statuses();
      if (all.length >= Math.max(1, opts.answers)) return done(answered(all));
      // uWS drops a connection whose bytes it cannot parse, without a 400: fine for junk only
      if (junk) return done({ outcome: all.length > 0 ? answered(all).outcome : 'raw:closed', ok: true });
      done({
        outcome: 'raw:closed-unanswered',
        ok: false,
        detail: `${all.length} of ${opts.answers} answers, then closed (${err?.code ?? 'FIN'})`,
      });
    };
    sock.on('close', () => closed());
    sock.on('error', (err: NodeJS.ErrnoException) => closed(err));
  });
}

/** A WebSocket upgrade; its outcome is the status the server answered (101 is `upgraded`). */
export function upgrade(
  port: number,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<Result & { status?: number }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Result & { status?: number }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request({
      host: HOST,
      port,
      path,
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    const timer = setTimeout(() => done({ outcome: 'hang', ok: false }), timeoutMs);
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      done({ outcome: 'upgraded', ok: true, status: 101 });
    });
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      done({ outcome: statusClass(status), ok: status < 500, status });
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      done({
        outcome: err.code === 'ECONNREFUSED' ? 'refused' : 'reset',
        ok: false,
        refused: err.code === 'ECONNREFUSED',
      }),
    );
    req.end();
  });
}

/** A WebSocket client that hands back the server's frames in order, or `closed`. */
export class Session {
  private readonly frames: string[] = [];
  private readonly waiting: ((f: string | null) => void)[] = [];
  closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (e) => this.push(typeof e.data === 'string' ? e.data : String(e.data)));
    ws.addEventListener('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w(null);
    });
  }

  static open(url: string, timeoutMs: number): Promise<Session> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`${url}: no open in ${timeoutMs} ms`));
      }, timeoutMs);
      ws.addEventListener('open', () => {
        clearTimeout(timer);
        resolve(new Session(ws));
      });
      ws.addEventListener('error', () => {
        clearTimeout(timer);
        reject(new Error(`${url}: did not open`));
      });
    });
  }

  private push(f: string): void {
    const w = this.waiting.shift();
    if (w) w(f);
    else this.frames.push(f);
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** The next frame from the server; null when the connection closed, 'timeout' when none came in time. */
  next(timeoutMs: number): Promise<string | null | 'timeout'> {
    const queued = this.frames.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve('timeout');
      }, timeoutMs);
      const w = (f: string | null) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiting.push(w);
    });
  }

  close(): void {
    this.ws.close();
  }
}
