import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { WebSocket } from 'undici';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { registerUser } from '../../src/copytrade/accounts/users.js';
import { signalKeyOf } from '../../src/copytrade/fanout/fanout.js';
import type { Notice } from '../../src/copytrade/notices/kinds.js';
import { notify, redisNoticePusher } from '../../src/copytrade/notices/notices.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';
import { httpCall } from '../support/http-call.js';

/** A /stream socket that keeps every frame it was sent; rejects when refused. */
function openStream(port: number, token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/stream`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const frames: Record<string, unknown>[] = [];
  return new Promise<{ ws: WebSocket; frames: Record<string, unknown>[] }>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error('no subscribed frame within 5 s'));
    }, 5000);
    ws.addEventListener('message', (e) => {
      const f = JSON.parse(String(e.data));
      frames.push(f);
      if (f.type === 'subscribed') {
        clearTimeout(timer);
        resolve({ ws, frames });
      }
    });
    ws.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new Error('the stream was refused'));
    });
  });
}

/**
 * Issue 12, part 6: notices. Pauses, resumes and stops from the copiers' API are written
 * and pushed; GET /notices lists them with the copies and skips the fan-out records, newest
 * first, paged by a cursor; a notice written by another process (here: this test's) is
 * pushed on /stream through `{prefix}:copy:notices`, to copiers and to leads alike.
 */
describe('notices: written, pushed on /stream, listed with copies and skips', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let socket: TraderSocket;
  let redis: RedisClient;
  let apiPort = 0;
  let n = 0;
  const streams: WebSocket[] = [];

  const api = (method: string, path: string, token = 'token-ca') =>
    httpCall(apiPort, { method, path, headers: { authorization: `Bearer ${token}` } });
  /** a signal of lead1, once the fan-out recorded it; returns its key */
  const signal = async (over: Parameters<typeof signalOf>[1]) => {
    const s = signalOf('lead1', {
      signalId: `n${n++}`,
      price: (await exchange.price(INSTRUMENT)).price,
      ...over,
    });
    assert.equal((await socket.send(s)).type, 'ack');
    const key = signalKeyOf('lead1', s.signalId);
    await waitFor(`${key} recorded`, () => fannedOut(world.engineDb, key));
    return key;
  };
  /** the events of one test apart by a few ms: their order is then their time's, not the tie rule's */
  const apart = () => new Promise((r) => setTimeout(r, 5));

  before(async () => {
    const ingress = await freePort();
    apiPort = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(ingress), TF_COPY_API_PORT: String(apiPort) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    const lead = await seedTrader(world.copyRows(), exchange, 'lead1');
    await seedCopiers(world.copyRows(), exchange, [
      { follow: follow('ca', 'lead1'), usdt: '10000' },
      { follow: follow('cb', 'lead1'), usdt: '10000' },
    ]);
    redis = createRedis(world.config.redisUrl);
    const engine = world.spawn(['copy']);
    socket = await waitFor('the signal ingress', () => {
      if (engine.proc.exitCode !== null) throw new Error(`copy exited: ${engine.stderr.slice(-500)}`);
      return TraderSocket.open(ingress, lead.apiKey, lead.secret);
    });
  });
  after(async () => {
    for (const ws of streams) ws.close();
    socket?.close();
    redis?.disconnect();
    await exchange?.close();
    await world.tearDown();
  });

  it('a pause, a resume and a stop each write one notice, pushed on the copier’s /stream only', async () => {
    const mine = await openStream(apiPort, 'token-cb');
    const other = await openStream(apiPort, 'token-ca');
    streams.push(mine.ws, other.ws);
    assert.equal((await api('POST', '/follows/lead1/pause', 'token-cb')).status, 200);
    const pushed = await waitFor('the pause pushed', async () =>
      mine.frames.find((f) => f.type === 'notice'),
    );
    assert.equal(pushed.kind, 'pause');
    assert.equal(pushed.userId, 'cb');
    assert.deepEqual(pushed.payload, { traderId: 'lead1' });
    assert.equal((await api('POST', '/follows/lead1/resume', 'token-cb')).status, 200);
    assert.equal((await api('DELETE', '/follows/lead1', 'token-cb')).status, 200);
    await waitFor(
      'three notices pushed',
      async () => mine.frames.filter((f) => f.type === 'notice').length === 3,
    );
    const kinds = mine.frames.filter((f) => f.type === 'notice').map((f) => [f.kind, f.payload]);
    assert.deepEqual(kinds, [
      ['pause', { traderId: 'lead1' }],
      ['resume', { traderId: 'lead1' }],
      ['stop', { traderId: 'lead1', slices: 'kept' }],
    ]);
    assert.ok(!other.frames.some((f) => f.type === 'notice'), 'another copier was told');
    const [rows] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT kind FROM copy_notice WHERE user_id=? ORDER BY notice_id',
      ['cb'],
    );
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['pause', 'resume', 'stop'],
    );
    const listed = await api('GET', '/notices', 'token-cb');
    const ids = ((listed.json?.notices ?? []) as Notice[]).map((x) => x.id);
    assert.deepEqual(
      ids,
      kinds.map((_k, i) => mine.frames.filter((f) => f.type === 'notice')[2 - i]?.id),
      'the pushed ids are the listed ones',
    );
  });

  it('GET /notices merges copies, skips and notices newest first, and pages without repeats or gaps', async () => {
    const open = await signal({});
    await apart();
    assert.equal((await api('POST', '/follows/lead1/pause')).status, 200);
    await apart();
    const skipped = await signal({ positionBefore: '1' });
    await apart();
    assert.equal((await api('POST', '/follows/lead1/resume')).status, 200);
    await apart();
    const close = await signal({ action: 'close', positionBefore: '2', qty: '2' });

    const whole = await api('GET', '/notices?limit=500');
    assert.equal(whole.status, 200);
    const all = whole.json?.notices as Notice[];
    assert.equal(whole.json?.next, null);
    const summary = all.map((x) => {
      const p = x.payload as unknown as Record<string, unknown>;
      return x.kind === 'copy' || x.kind === 'skip' ? `${x.kind} ${p.signalKey}` : `${x.kind} ${p.traderId}`;
    });
    assert.deepEqual(summary, [
      `copy ${close}`,
      'resume lead1',
      `skip ${skipped}`,
      'pause lead1',
      `copy ${open}`,
    ]);
    const skip = all[2]?.payload as unknown as Record<string, unknown>;
    assert.equal(skip.reason, 'follow-paused');
    const copy = all[0]?.payload as unknown as Record<string, unknown>;
    assert.deepEqual([copy.action, copy.status], ['close', 'FILLED']);
    for (let i = 1; i < all.length; i++) {
      assert.ok((all[i - 1]?.createdMs ?? 0) >= (all[i]?.createdMs ?? 0), 'newest first');
    }

    // pages of 2: the same list, in the same order
    const paged: Notice[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await api('GET', `/notices?limit=2${cursor ? `&before=${cursor}` : ''}`);
      assert.equal(page.status, 200, page.body);
      const got = page.json?.notices as Notice[];
      assert.ok(got.length <= 2);
      paged.push(...got);
      cursor = page.json?.next as string | null;
      pages++;
    } while (cursor !== null && pages < 10);
    assert.deepEqual(
      paged.map((x) => x.id),
      all.map((x) => x.id),
    );
    assert.equal(pages, 3);

    // another copier's list holds none of this one's notices
    const theirs = (await api('GET', '/notices?limit=500', 'token-cb')).json?.notices as Notice[];
    assert.ok(theirs.every((x) => x.userId === 'cb'));
    assert.ok(!theirs.some((x) => x.kind === 'pause' && all.some((y) => y.id === x.id)));

    for (const bad of [
      'limit=0',
      'limit=501',
      'before=nonsense!',
      `before=${Buffer.from('1:9:x').toString('base64url')}`,
      'after=1',
    ]) {
      const r = await api('GET', `/notices?${bad}`);
      assert.equal(r.status, 400, `${bad}: ${r.body}`);
    }
    assert.equal((await api('GET', '/notices', 'token-nobody')).status, 401);
  });

  it('a notice written by another process reaches the copier’s and the lead’s /stream, once', async () => {
    const copier = await openStream(apiPort, 'token-ca');
    // a lead is a user with a copier token of its own: its notices come on the same socket
    const leadUser = await registerUser(world.copyRows(), { userId: 'lead1' });
    const leadStream = await waitFor('the lead’s stream', () => openStream(apiPort, leadUser.token), 5000);
    streams.push(copier.ws, leadStream.ws);
    const push = redisNoticePusher(redis, world.config.redisPrefix);
    const settlement = {
      copierId: 'ca',
      traderId: 'lead1',
      period: '2026-W01',
      cumulativePnl: '200',
      highWaterMark: '200',
      payout: '20',
    };
    const written = await notify(
      world.engineDb,
      { userId: 'ca', kind: 'settlement', dedupKey: 'settle:ca:lead1:2026-W01', payload: settlement },
      push,
    );
    assert.ok(written);
    const suspended = await notify(
      world.engineDb,
      {
        userId: 'lead1',
        kind: 'suspension',
        dedupKey: 'suspend:lead1:1',
        payload: { traderId: 'lead1', status: 'suspended', reason: 'test' },
      },
      push,
    );
    assert.ok(suspended);
    const atCopier = await waitFor('the settlement pushed', async () =>
      copier.frames.find((f) => f.type === 'notice' && f.kind === 'settlement'),
    );
    assert.deepEqual(atCopier, { type: 'notice', ...written });
    const atLead = await waitFor('the suspension pushed to the lead', async () =>
      leadStream.frames.find((f) => f.type === 'notice' && f.kind === 'suspension'),
    );
    assert.equal(atLead.id, suspended.id);
    assert.ok(!copier.frames.some((f) => f.kind === 'suspension'), 'the copier got the lead’s notice');

    // written again (a settlement run twice): no second row, no second push
    const again = await notify(
      world.engineDb,
      { userId: 'ca', kind: 'settlement', dedupKey: 'settle:ca:lead1:2026-W01', payload: settlement },
      push,
    );
    assert.equal(again, null);
    const [rows] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM copy_notice WHERE dedup_key='settle:ca:lead1:2026-W01'",
    );
    assert.equal(Number(rows[0]?.n), 1);
    const listed = (await api('GET', '/notices?limit=1')).json?.notices as Notice[];
    assert.equal(listed[0]?.id, written.id);
    // nothing more came for the copier while the list was read
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(copier.frames.filter((f) => f.kind === 'settlement').length, 1);

    await assert.rejects(
      notify(world.engineDb, { userId: 'bad id', kind: 'refund', dedupKey: 'k', payload: {} as never }),
      /userId/,
    );
    await assert.rejects(
      notify(world.engineDb, { userId: 'ca', kind: 'copy' as never, dedupKey: 'k2', payload: {} as never }),
      /not a kind that is written/,
    );
  });
});
