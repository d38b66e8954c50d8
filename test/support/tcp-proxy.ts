import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy a test can cut and restore, or hold, to make a server (MySQL) unreachable or
 * stalled for a process under test without stopping the server the other tests share.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** while held, what clients send waits here instead of reaching the server */
  private held: { to: Socket; data: Buffer }[] | null = null;
  /** what clients send reaches the server this much later (each round trip lengthened by it) */
  private delayMs = 0;
  /** what the server answers reaches the clients this much later */
  private replyDelayMs = 0;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.on('data', (data: Buffer) => {
        if (this.held) this.held.push({ to: upstream, data });
        // timers of one duration fire in the order set: the stream keeps its order
        else if (this.delayMs > 0) setTimeout(() => upstream.destroyed || upstream.write(data), this.delayMs);
        else upstream.write(data);
      });
      upstream.on('data', (data: Buffer) => {
        if (this.replyDelayMs > 0)
          setTimeout(() => client.destroyed || client.write(data), this.replyDelayMs);
        else client.write(data);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : this.port;
    this.server = server;
  }

  /** Slows the server: from now on what clients send is forwarded `ms` later (0: at once). */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  /** Slows the answers: from now on what the server sends is forwarded `ms` later (0: at once). */
  delayReplies(ms: number): void {
    this.replyDelayMs = ms;
  }

  /** Stalls the server: connections stay open, but nothing the clients send reaches it. */
  hold(): void {
    this.held ??= [];
  }

  /** what the last `release()` forwarded, as the clients sent it */
  released: Buffer[] = [];

  /** Forwards what was held, in order, and forwards again. Returns how many bytes were held. */
  release(): number {
    const held = this.held ?? [];
    this.held = null;
    this.released = held.map((h) => h.data);
    let bytes = 0;
    for (const { to, data } of held) {
      bytes += data.byteLength;
      if (!to.destroyed) to.write(data);
    }
    return bytes;
  }

  /** Refuses new connections and drops the open ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.release();
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }
}
