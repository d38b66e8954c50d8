import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { WebSocket } from 'undici';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { type AcceptSignal, createSignalAcceptor } from '../../src/copytrade/ingress/accept.js';
import { decodeSignalEntry, seenKey, signalStreamKey } from '../../src/copytrade/ingress/codec.js';
import { LeaderTable } from '../../src/copytrade/ingress/fill-filter.js';
import { buildFrame, type ServerFrame } from '../../src/copytrade/ingress/frame.js';
import {
  type Credentials,
  type SignalIngress,
  startSignalIngress,
} from '../../src/copytrade/ingress/server.js';
import { frameSignature } from '../../src/copytrade/ingress/signature.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import { REDIS_URL, TestWorld, waitFor } from '../support/harness.js';

const prefix = `tft${randomBytes(4).toString('hex')}`;
const stream = signalStreamKey(prefix);
const FRAME_MAX = 2048;
const CLOSE_ABOVE = 16 * 1024;
const SEEN_TTL_MS = 86_400_000;

const creds: Record<string, Credentials> = {
  'key-a': { traderId: 'trader-a', secret: 'sec-A' },
  'key-b': { traderId: 'trader-b', secret: 'sec-B' },
  'key-c': { traderId: 'trader-c', secret: 'sec-C' },
};
/** what each trader leads, and where its signals come from */
const leads = new LeaderTable([
  { account: 'trader-a', traderId: 'trader-a', instruments: ['BTC-USDT-SWAP'], signalSource: 'frames' },
  { account: 'trader-b', traderId: 'trader-b', instruments: ['BTC-USDT-SWAP'], signalSource: 'frames' },
  { account: 'trader-c', traderId: 'trader-c', instruments: ['BTC-USDT-SWAP'], signalSource: 'fills' },
]);

let redis: RedisClient;
let ingress: SignalIngress;
let url: string;

let seq = 0;
const signal = (traderId: string, over: Partial<TraderSignal> = {}): TraderSignal => ({
  signalId: `s-${++seq}`,
  traderId,
  instrument: 'BTC-USDT-SWAP',
  action: 'open',
  side: 'long',
  qty: '1.5',
  price: '64000.5',
  leverage: 10,
  positionBefore: '0',
  filledMs: Date.now() - 3,
  ...over,
});

/** A trader's WebSocket: frames received are queued and taken in order with next(). */
class Trader {
  readonly frames: ServerFrame[] = [];
  readonly #waiters: ((f: ServerFrame) => void)[] = [];
  closed: { code: number } | undefined;

  private constructor(
    readonly ws: WebSocket,
    readonly secret: string,
  ) {
    ws.addEventListener('message', (ev) => {
      const frame = JSON.parse(String(ev.data)) as ServerFrame;
      const waiter = this.#waiters.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
    ws.addEventListener('close', (ev) => {
      this.closed = { code: ev.code };
    });
  }

  static connect(apiKey: string, secret: string, via: 'query' | 'header' = 'query'): Promise<Trader> {
    const ws =
      via === 'query'
        ? new WebSocket(`${url}?apiKey=${apiKey}`)
        : new WebSocket(url, { headers: { 'x-api-key': apiKey } });
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(new Trader(ws, secret)));
      ws.addEventListener('error', () => reject(new Error('connection failed')));
    });
  }

  send(frame: string): void {
    this.ws.send(frame);
  }

  sendSignal(s: TraderSignal, ts = Date.now()): void {
    this.send(buildFrame(this.secret, s, ts));
  }

  next(timeoutMs = 5000): Promise<ServerFrame> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame within the timeout')), timeoutMs);
      this.#waiters.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

async function entries(): Promise<{ id: string; fields: string[] }[]> {
  const raw = await redis.xrange(stream, '-', '+');
  return raw.map(([id, fields]) => ({ id, fields }));
}

/** The status of a WebSocket upgrade request with these query/headers. */
function upgradeStatus(path: string, headers: Record<string, string> = {}): Promise<number> {
  const port = new URL(url).port;
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** copy_signal, where an accepted signal is recorded before its ack */
const db = new TestWorld();
const signalRows = async (signalId: string): Promise<number> => {
  const [rows] = await db.engineDb.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM copy_signal WHERE signal_key LIKE ?',
    [`${signalId}@%`],
  );
  return Number(rows[0]?.n);
};

before(async () => {
  await db.setUp();
  redis = createRedis(REDIS_URL, { name: 'copy-ingress-test' });
  ingress = await startSignalIngress({
    host: '127.0.0.1',
    port: 0,
    credentials: (apiKey) => creds[apiKey],
    leads: () => leads,
    accept: createSignalAcceptor({
      redis,
      pool: db.engineDb,
      prefix,
      seenTtlMs: SEEN_TTL_MS,
      maxSkewMs: 10_000,
    }),
    frameMaxBytes: FRAME_MAX,
    closeAboveBytes: CLOSE_ABOVE,
    maxSkewMs: 10_000,
  });
  url = `ws://127.0.0.1:${ingress.port}/traders`;
});

after(async () => {
  await db.tearDown();
  await ingress?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('copy signal ingress (uWebSockets.js, real Redis)', () => {
  it('refuses an unknown or missing API key at the upgrade with 401', async () => {
    assert.equal(await upgradeStatus('/traders?apiKey=nope'), 401);
    assert.equal(await upgradeStatus('/traders'), 401);
    assert.equal(await upgradeStatus('/traders', { 'x-api-key': 'nope' }), 401);
    assert.equal(await upgradeStatus('/traders?apiKey=key-a'), 101);
    await assert.rejects(Trader.connect('nope', 'x'));
  });

  it('acks a valid signal with the server receive time and adds one entry; a repeat is a duplicate', async () => {
    await redis.del(stream);
    const a = await Trader.connect('key-a', 'sec-A');
    const s = signal('trader-a');
    const before = Date.now();
    a.sendSignal(s);
    const ack = await a.next();
    const after = Date.now();
    assert.equal(ack.type, 'ack');
    if (ack.type !== 'ack') return;
    assert.equal(ack.signalId, s.signalId);
    assert.equal(ack.duplicate, false);
    assert.ok(
      ack.receivedMs >= before && ack.receivedMs <= after,
      'receivedMs is the server clock at arrival',
    );

    const [entry, ...more] = await entries();
    assert.equal(more.length, 0);
    assert.deepEqual(decodeSignalEntry(entry?.fields ?? []), {
      signal: s,
      receivedMs: ack.receivedMs,
      source: 'ws',
    });
    const seen = seenKey(prefix, 'trader-a', s.signalId);
    assert.equal(await redis.get(seen), entry?.id, 'the seen key holds the entry id');
    const ttl = await redis.pttl(seen);
    assert.ok(ttl > SEEN_TTL_MS - 60_000 && ttl <= SEEN_TTL_MS, `ttl ${ttl}`);

    // the same signal again, freshly signed (a client's retry): acked as a duplicate, nothing added
    a.sendSignal(s);
    const again = await a.next();
    assert.deepEqual(
      { ...again, receivedMs: 0 },
      { type: 'ack', signalId: s.signalId, receivedMs: 0, duplicate: true },
    );
    assert.equal((await entries()).length, 1);

    // the same signal id from another trader is another signal
    const b = await Trader.connect('key-b', 'sec-B', 'header');
    b.sendSignal({ ...s, traderId: 'trader-b' });
    assert.deepEqual(await b.next().then((f) => f.type === 'ack' && f.duplicate), false);
    assert.equal((await entries()).length, 2);
    a.close();
    b.close();
  });

  it('refuses a signal that filled longer ago than ids are remembered: a replay could not be told apart', async () => {
    await redis.del(stream);
    const a = await Trader.connect('key-a', 'sec-A');
    const old = signal('trader-a', { filledMs: Date.now() - (SEEN_TTL_MS - 10_000) - 1000 });
    a.sendSignal(old);
    assert.deepEqual(await a.next(), {
      type: 'error',
      code: 'STALE_SIGNAL',
      message: 'filledMs is outside the window signal ids are remembered for',
      signalId: old.signalId,
    });
    assert.deepEqual(await entries(), []);
    a.close();
  });

  it('remembers ids for seenTtl; a signal filled more than seenTtl − maxSkew ago, or ahead by more than maxSkew, is stale', async () => {
    const accept = createSignalAcceptor({
      redis,
      pool: db.engineDb,
      prefix,
      seenTtlMs: 60_000,
      maxSkewMs: 10_000,
    });
    const now = Date.now();
    const stale = async (filledMs: number) =>
      (await accept(signal('trader-w', { filledMs }), now, 'ws')).stale;
    assert.deepEqual(
      [
        await stale(now - 50_000),
        await stale(now - 50_001),
        await stale(now + 10_000),
        await stale(now + 10_001),
      ],
      [false, true, false, true],
    );
  });

  it('a fill stamped by an exchange clock far ahead of ours is taken; only its age bounds it', async () => {
    const accept = createSignalAcceptor({
      redis,
      pool: db.engineDb,
      prefix,
      seenTtlMs: 60_000,
      maxSkewMs: 10_000,
    });
    const now = Date.now();
    const fill = (id: string, filledMs: number) =>
      accept(signal('trader-x', { signalId: id, filledMs }), now, 'fill');
    const ahead = await fill('fill-ahead', now + 45_000);
    assert.deepEqual([ahead.stale, ahead.duplicate, typeof ahead.entryId], [false, false, 'string']);
    assert.equal((await fill('fill-old', now - 50_001)).stale, true);
  });

  it('refuses a frame signed by trader A for trader B, and adds nothing', async () => {
    await redis.del(stream);
    const a = await Trader.connect('key-a', 'sec-A');
    const forB = signal('trader-b');
    a.sendSignal(forB);
    const err = await a.next();
    assert.deepEqual(err, {
      type: 'error',
      code: 'WRONG_TRADER',
      message: 'the signal is for another trader than this connection',
      path: 'payload.traderId',
      signalId: forB.signalId,
    });
    // signed with B's secret on A's connection: not A's signature
    a.send(buildFrame('sec-B', forB, Date.now()));
    assert.equal((await a.next()).type === 'error' && 'BAD_SIGNATURE', 'BAD_SIGNATURE');
    assert.deepEqual(await entries(), []);
    assert.equal(await redis.exists(seenKey(prefix, 'trader-b', forB.signalId)), 0);
    assert.equal(a.closed, undefined, 'the connection stays open');
    a.close();
  });

  it('refuses a frame on an instrument the trader does not lead, and adds nothing', async () => {
    await redis.del(stream);
    const a = await Trader.connect('key-a', 'sec-A');
    for (const instrument of ['1', 'ETH-USDT-SWAP']) {
      const s = signal('trader-a', { instrument });
      a.sendSignal(s);
      assert.deepEqual(await a.next(), {
        type: 'error',
        code: 'NOT_LED_INSTRUMENT',
        message: `trader-a does not lead ${instrument}`,
        path: 'payload.instrument',
        signalId: s.signalId,
      });
      assert.equal(await signalRows(s.signalId), 0);
    }
    assert.deepEqual(await entries(), []);
    // the connection is still good for what it leads
    a.sendSignal(signal('trader-a'));
    assert.equal((await a.next()).type, 'ack');
    a.close();
  });

  it('refuses the frames of a lead whose signals come from its fills, and adds nothing', async () => {
    await redis.del(stream);
    const c = await Trader.connect('key-c', 'sec-C');
    const s = signal('trader-c');
    c.sendSignal(s);
    assert.deepEqual(await c.next(), {
      type: 'error',
      code: 'WRONG_SOURCE',
      message: "trader-c's signals come from its fills on the exchange, not from frames",
      signalId: s.signalId,
    });
    assert.deepEqual(await entries(), []);
    assert.equal(await signalRows(s.signalId), 0);
    assert.equal(await redis.exists(seenKey(prefix, 'trader-c', s.signalId)), 0);
    assert.equal(c.closed, undefined, 'the connection stays open');
    c.close();
  });

  it('answers malformed frames with error frames while the other connection keeps getting acks', async () => {
    await redis.del(stream);
    const a = await Trader.connect('key-a', 'sec-A');
    const b = await Trader.connect('key-b', 'sec-B');
    const good = signal('trader-a');
    const goodPayload = JSON.stringify(good);
    const ts = Date.now();
    const bad: [string, string, string?][] = [
      ['{"ts":', 'BAD_JSON'],
      ['x'.repeat(FRAME_MAX + 1), 'FRAME_TOO_LARGE'],
      [JSON.stringify({ ts, sig: 'zz', payload: goodPayload }), 'BAD_FRAME', 'sig'],
      [buildFrame('sec-A', { ...good, qty: '-1' }, ts), 'INVALID_SIGNAL', 'payload.qty'],
      [buildFrame('sec-A', { ...good, side: 'up' as never }, ts), 'INVALID_SIGNAL', 'payload.side'],
      [buildFrame('wrong-secret', good, ts), 'BAD_SIGNATURE'],
      [buildFrame('sec-A', good, ts - 60_000), 'STALE_FRAME', 'ts'],
      [
        JSON.stringify({ ts, sig: frameSignature('sec-A', ts, '{not json'), payload: '{not json' }),
        'BAD_JSON',
        'payload',
      ],
    ];
    const bSignals: TraderSignal[] = [];
    for (const [frame, code, path] of bad) {
      a.send(frame);
      const s = signal('trader-b');
      bSignals.push(s);
      b.sendSignal(s);
      const err = await a.next();
      assert.equal(err.type, 'error', code);
      if (err.type === 'error') {
        assert.equal(err.code, code);
        assert.equal(err.path, path, code);
      }
      const ack = await b.next();
      assert.deepEqual([ack.type, ack.signalId], ['ack', s.signalId]);
    }
    // binary frames are read the same way
    a.ws.send(new TextEncoder().encode('nope'));
    assert.equal((await a.next()).type, 'error');
    // A's connection is still good
    a.sendSignal(good);
    assert.equal((await a.next()).type, 'ack');
    const stored = (await entries()).map((e) => decodeSignalEntry(e.fields));
    assert.deepEqual(
      stored.map((e) => ('signal' in e ? e.signal.signalId : e.error)),
      [...bSignals.map((s) => s.signalId), good.signalId],
    );
    assert.equal(a.closed, undefined);
    a.close();
    b.close();
  });

  it('closes only the connection that sends a frame above the transport limit', async () => {
    const a = await Trader.connect('key-a', 'sec-A');
    const b = await Trader.connect('key-b', 'sec-B');
    a.send('x'.repeat(CLOSE_ABOVE + 1));
    await waitFor('the connection to close', async () => a.closed, 5000, 20);
    // uWS drops the TCP connection without a close frame: the client sees 1006
    assert.equal(a.closed?.code, 1006);
    b.sendSignal(signal('trader-b'));
    assert.equal((await b.next()).type, 'ack');
    b.close();
  });

  it('adds one entry when one signal races on two connections of the same trader', async () => {
    await redis.del(stream);
    const conns = await Promise.all([1, 2, 3, 4].map(() => Trader.connect('key-a', 'sec-A')));
    const s = signal('trader-a');
    for (const c of conns) c.sendSignal(s);
    const acks = await Promise.all(conns.map((c) => c.next()));
    const duplicates = acks.map((f) => f.type === 'ack' && f.duplicate).sort();
    assert.deepEqual(duplicates, [false, true, true, true]);
    assert.equal((await entries()).length, 1);
    for (const c of conns) c.close();
  });

  it('keeps a trader’s signals in the stream in the order they were sent', async () => {
    await redis.del(stream);
    const a = await Trader.connect('key-a', 'sec-A');
    const sent = Array.from({ length: 200 }, () => signal('trader-a'));
    for (const s of sent) a.sendSignal(s);
    for (const s of sent) assert.equal((await a.next()).signalId, s.signalId);
    const stored = (await entries()).map((e) => decodeSignalEntry(e.fields));
    assert.deepEqual(
      stored.map((e) => ('signal' in e ? e.signal.signalId : e.error)),
      sent.map((s) => s.signalId),
    );
    a.close();
  });
});

describe('copy signal ingress: accept failures and back-pressure', () => {
  it('answers UNAVAILABLE when the signal cannot be stored, BUSY past the in-flight limit', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const accept: AcceptSignal = async () => {
      calls++;
      if (calls === 1) throw new Error('redis is down');
      await gate;
      return { duplicate: false, stale: false, entryId: '1-0' };
    };
    const other = await startSignalIngress({
      host: '127.0.0.1',
      port: 0,
      credentials: async (apiKey) => creds[apiKey],
      leads: () => leads,
      accept,
      maxInFlight: 2,
    });
    const saved = url;
    url = `ws://127.0.0.1:${other.port}/traders`;
    try {
      const a = await Trader.connect('key-a', 'sec-A');
      const [s1, s2, s3, s4] = [1, 2, 3, 4].map(() => signal('trader-a')) as [
        TraderSignal,
        ...TraderSignal[],
      ];
      a.sendSignal(s1);
      assert.deepEqual(await a.next().then((f) => [f.type, f.type === 'error' && f.code, f.signalId]), [
        'error',
        'UNAVAILABLE',
        s1.signalId,
      ]);
      for (const s of [s2, s3, s4]) a.sendSignal(s as TraderSignal);
      const busy = await a.next();
      assert.deepEqual([busy.type === 'error' && busy.code, busy.signalId], ['BUSY', s4?.signalId]);
      // close waits for the two in flight, whose acks still reach the client
      const closed = other.close();
      release();
      await closed;
      const acks = [await a.next(), await a.next()];
      assert.deepEqual(
        acks.map((f) => [f.type, f.signalId]),
        [
          ['ack', s2?.signalId],
          ['ack', s3?.signalId],
        ],
      );
      assert.deepEqual(other.stats().refused, { UNAVAILABLE: 1, BUSY: 1 });
    } finally {
      url = saved;
    }
  });
});
