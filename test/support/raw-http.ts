import { connect } from 'node:net';

/**
 * Sends `request` as raw bytes and reads until the server closes (or `timeoutMs`): what a
 * client's parser would see, with nothing hidden, so that a body sent after a HEAD's headers
 * shows as `afterHead`.
 */
export function rawExchange(
  port: number,
  request: string,
  timeoutMs = 3000,
): Promise<{ status: number; head: string; afterHead: string }> {
  return new Promise((resolve, reject) => {
    let got = '';
    const sock = connect(port, '127.0.0.1', () => sock.write(request));
    const timer = setTimeout(() => {
      sock.destroy();
      // answered but kept open: what was read is the whole answer
      if (got.includes('\r\n\r\n')) finish();
      else reject(new Error(`no answer to ${JSON.stringify(request.slice(0, 40))} in ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      const end = got.indexOf('\r\n\r\n');
      const head = end < 0 ? got : got.slice(0, end);
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(got)?.[1] ?? 0),
        head,
        afterHead: end < 0 ? '' : got.slice(end + 4),
      });
    };
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    sock.on('close', finish);
    sock.on('error', () => undefined);
  });
}

/** A HEAD request on a connection that the server is asked to close after answering. */
export const headRequest = (path: string, headers: Record<string, string> = {}): string =>
  `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
