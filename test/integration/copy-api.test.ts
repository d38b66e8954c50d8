import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { WebSocket } from 'undici';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { floorTo, fx } from '../../src/copytrade/domain/fixed.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { signalKeyOf } from '../../src/copytrade/fanout/fanout.js';
import { encodeSignalEntry, signalStreamKey } from '../../src/copytrade/ingress/codec.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';

describe("copiers' API: follow, change, pause, stop, list", () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let api = '';
  let socket: TraderSocket;
  let socket2: TraderSocket;
  let socket3: TraderSocket;
  let redis: RedisClient;
  let n = 0;

  const call = async (method: string, path: string, token: string | null, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const settings = (over: Record<string, unknown> = {}) => {
    const { copierId: _c, traderId: _t, status: _s, ...rest } = follow('x', 'x');
    return { ...rest, ...over };
  };
  const signalOf = async (over: Partial<TraderSignal>, traderId: string): Promise<TraderSignal> => ({
    signalId: `a${n++}`,
    traderId,
    instrument: INSTRUMENT,
    action: 'open',
    side: 'long',
    qty: '1',
    price: (await exchange.price(INSTRUMENT)).price,
    leverage: 10,
    positionBefore: '0',
    filledMs: Date.now(),
    ...over,
  });
  /** Sends a signal of lead1 (or of the trader of `from`) and waits until the fan-out recorded it. */
  const signal = async (over: Partial<TraderSignal>, from = { socket, traderId: 'lead1' }) => {
    const s = await signalOf(over, from.traderId);
    const ack = await from.socket.send(s);
    assert.equal(ack.type, 'ack');
    const key = signalKeyOf(from.traderId, s.signalId);
    await done(key);
    return key;
  };
  const done = (key: string) => waitFor(`${key} recorded`, () => fannedOut(world.engineDb, key));
  const outcome = async (signalKey: string, copierId: string) => {
    const [o] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT status, action, qty FROM copy_order WHERE signal_key=? AND copier_id=?',
      [signalKey, copierId],
    );
    const [s] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT reason FROM copy_skip WHERE signal_key=? AND copier_id=?',
      [signalKey, copierId],
    );
    return o[0] ? `${o[0].status} ${o[0].action}` : s[0] ? `skip ${s[0].reason}` : 'nothing';
  };

  before(async () => {
    const [ingress, apiPort] = [await freePort(), await freePort()];
    await world.setUp({ TF_COPY_INGRESS_PORT: String(ingress), TF_COPY_API_PORT: String(apiPort) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    api = `http://127.0.0.1:${apiPort}`;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    const lead = await seedTrader(world.copyRows(), exchange, 'lead1');
    const lead2 = await seedTrader(world.copyRows(), exchange, 'lead2');
    const lead3 = await seedTrader(world.copyRows(), exchange, 'lead3', { onLiquidation: 'keep' });
    await seedTrader(world.copyRows(), exchange, 'small', { maxCopiers: 1 });
    // copiers with accounts and tokens, following nobody yet (a stopped follow of another trader)
    await seedCopiers(
      world.copyRows(),
      exchange,
      ['ca', 'cb', 'cc', 'cd', 'ce'].map((id) => ({
        follow: follow(id, 'small', { status: 'stopped' }),
        usdt: '10000',
      })),
    );
    world.spawn(['copy']);
    socket = await waitFor('the signal ingress', () => TraderSocket.open(ingress, lead.apiKey, lead.secret));
    socket2 = await TraderSocket.open(ingress, lead2.apiKey, lead2.secret);
    socket3 = await TraderSocket.open(ingress, lead3.apiKey, lead3.secret);
    redis = createRedis(world.config.redisUrl);
  });
  after(async () => {
    socket?.close();
    socket2?.close();
    socket3?.close();
    redis?.disconnect();
    await exchange?.close();
    await world.tearDown();
  });

  it('refuses a missing token, bad settings with the field named, and a trader who does not lead', async () => {
    assert.equal((await call('GET', '/follows', null)).status, 401);
    assert.equal((await call('GET', '/follows', 'token-nobody')).status, 401);
    const bad = await call('PUT', '/follows/lead1', 'token-ca', settings({ leverage: 500 }));
    assert.equal(bad.status, 422);
    assert.match(String(bad.body.message), /leverage/);
    const unknown = await call('PUT', '/follows/lead1', 'token-ca', settings({ colour: 'red' }));
    assert.equal(unknown.status, 422);
    assert.match(String(unknown.body.message), /colour/);
    assert.equal((await call('PUT', '/follows/nobody', 'token-ca', settings())).status, 404);
  });

  it('a lead full at maxCopiers refuses the next copier', async () => {
    assert.equal((await call('PUT', '/follows/small', 'token-ca', settings())).status, 200);
    const full = await call('PUT', '/follows/small', 'token-cb', settings());
    assert.equal(full.status, 409);
    assert.equal(full.body.code, 'TRADER_FULL');
    assert.equal((await call('DELETE', '/follows/small', 'token-ca')).status, 200);
    assert.equal((await call('PUT', '/follows/small', 'token-cb', settings())).status, 200);
    // one account, one position mode: cb follows small one-way, so a hedge follow is refused
    const hedge = await call('PUT', '/follows/lead1', 'token-cb', settings({ positionMode: 'hedge' }));
    assert.deepEqual([hedge.status, hedge.body.code], [409, 'POSITION_MODE_CONFLICT']);
  });

  it('follow copies; paused skips opens but still closes; stopped copies nothing; lists show it all', async () => {
    assert.equal((await call('PUT', '/follows/lead1', 'token-ca', settings())).status, 200);
    assert.equal((await call('PUT', '/follows/lead1', 'token-cc', settings())).status, 200);
    const open1 = await signal({});
    assert.equal(await outcome(open1, 'ca'), 'FILLED open');
    assert.equal(await outcome(open1, 'cb'), 'nothing');

    assert.equal((await call('POST', '/follows/lead1/pause', 'token-ca')).status, 200);
    const open2 = await signal({});
    assert.equal(await outcome(open2, 'ca'), 'skip follow-paused');
    assert.equal(await outcome(open2, 'cc'), 'FILLED open');
    const close = await signal({ action: 'close', positionBefore: '2', qty: '2' });
    assert.equal(await outcome(close, 'ca'), 'FILLED close');

    // a change of settings: cc now copies a fixed ratio
    const changed = await call(
      'PUT',
      '/follows/lead1',
      'token-cc',
      settings({ sizing: { mode: 'fixed-ratio', ratio: '2' } }),
    );
    assert.equal(changed.status, 200);
    assert.equal((await call('DELETE', '/follows/lead1?slices=sell', 'token-ca')).status, 400);
    assert.equal((await call('DELETE', '/follows/lead1', 'token-ca')).status, 200);
    const open3 = await signal({});
    assert.equal(await outcome(open3, 'ca'), 'nothing');
    const [[cc]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT qty FROM copy_order WHERE signal_key=? AND copier_id=?',
      [open3, 'cc'],
    );
    assert.equal(Number(cc?.qty), 2);

    const follows = await call('GET', '/follows', 'token-ca');
    assert.deepEqual(
      (follows.body.follows as { traderId: string; status: string }[]).map((f) => [f.traderId, f.status]),
      [
        ['lead1', 'stopped'],
        ['small', 'stopped'],
      ],
    );
    const orders = await call('GET', '/orders?limit=10', 'token-ca');
    const kinds = (orders.body.orders as { kind: string; reason: string | null }[]).map((o) =>
      `${o.kind} ${o.reason ?? ''}`.trim(),
    );
    assert.deepEqual(kinds.sort(), ['order', 'order', 'skip follow-paused']);
    const slices = await call('GET', '/slices', 'token-cc');
    assert.equal((slices.body.slices as unknown[]).length, 1);
  });

  it("stop with slices=close closes that trader's slices on the exchange, and only those", async () => {
    assert.equal((await call('PUT', '/follows/lead1', 'token-cd', settings())).status, 200);
    assert.equal((await call('PUT', '/follows/lead2', 'token-cd', settings())).status, 200);
    const lead2 = { socket: socket2, traderId: 'lead2' };
    await signal({});
    await signal({}, lead2);
    await signal({ qty: '2', positionBefore: '1' }); // lead1 adds: cd's lead1 slice is the larger
    const slices = async () => {
      const body = (await call('GET', '/slices', 'token-cd')).body.slices as {
        traderId: string;
        qty: string;
      }[];
      const qty = (t: string) => fx(body.find((s) => s.traderId === t)?.qty ?? '0');
      return { lead1: qty('lead1'), lead2: qty('lead2') };
    };
    const before = await slices();
    assert.ok(before.lead1 > before.lead2 && before.lead2 > 0n, `${before.lead1} ${before.lead2}`);
    const netOnExchange = async () =>
      (await exchange.positions('cd')).positions.reduce((a, p) => a + fx(p.qty), 0n);
    assert.equal(await netOnExchange(), before.lead1 + before.lead2);

    const stop = await call('DELETE', '/follows/lead1?slices=close', 'token-cd');
    assert.equal(stop.status, 200);
    assert.deepEqual([stop.body.status, stop.body.slices], ['stopped', 'closing']);
    await done(`stop/${stop.body.requestId}@lead1`);
    assert.deepEqual(await slices(), { lead1: 0n, lead2: before.lead2 });
    assert.equal(await netOnExchange(), before.lead2);
    const [closes] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT client_order_id, action, status, qty FROM copy_order WHERE copier_id='cd' AND signal_key LIKE 'stop/%'",
    );
    assert.deepEqual(
      closes.map((c) => [c.action, c.status, fx(c.qty)]),
      [['close', 'FILLED', before.lead1]],
    );
    assert.match(closes[0]?.client_order_id, /^stop\/[0-9a-f]{12}\/BTC-USDT-SWAP\/L@lead1:cd$/);

    // stopped: lead1's next open is not copied; lead2's still is; asking again closes nothing more
    const open = await signal({});
    assert.equal(await outcome(open, 'cd'), 'nothing');
    assert.equal(await outcome(await signal({}, lead2), 'cd'), 'FILLED open');
    const netBefore = await netOnExchange();
    const again = await call('DELETE', '/follows/lead1?slices=close', 'token-cd');
    assert.equal(again.status, 200);
    await done(`stop/${again.body.requestId}@lead1`);
    const [placed] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM copy_order WHERE signal_key LIKE ?',
      [`stop/${again.body.requestId}/%`],
    );
    assert.equal(Number(placed[0]?.n), 0);
    assert.equal(await netOnExchange(), netBefore);
    assert.equal((await slices()).lead1, 0n);
    assert.equal((await call('DELETE', '/follows/nobody', 'token-cd')).status, 404);
  });

  it('a liquidation the lead keeps: the slice leaves the trader, stays open, and closes on stop', async () => {
    assert.equal((await call('PUT', '/follows/lead3', 'token-ce', settings())).status, 200);
    const lead3 = { socket: socket3, traderId: 'lead3' };
    const slices = async () => {
      const body = (await call('GET', '/slices', 'token-ce')).body.slices as {
        traderId: string;
        qty: string;
      }[];
      return Object.fromEntries(body.map((s) => [s.traderId, fx(s.qty)]));
    };
    const onExchange = async () =>
      (await exchange.positions('ce')).positions.reduce((a, p) => a + fx(p.qty), 0n);
    await signal({}, lead3);
    const held = (await slices()).lead3 ?? 0n;
    assert.ok(held > 0n);

    // a trader cannot call its own close a liquidation
    const forged = await socket3.send({
      ...(await signalOf({ action: 'close', positionBefore: '1' }, 'lead3')),
      liquidation: true,
    });
    assert.deepEqual(
      [forged.type, forged.code, forged.path],
      ['error', 'INVALID_SIGNAL', 'payload.liquidation'],
    );

    // the trading system liquidates half the trader's position (a fill event, as the fill intake stores it)
    const liquidation = {
      ...(await signalOf({ action: 'close', qty: '0.5', positionBefore: '1' }, 'lead3')),
      liquidation: true,
    };
    await redis.xadd(
      signalStreamKey(world.config.redisPrefix),
      '*',
      ...encodeSignalEntry({ signal: liquidation, receivedMs: Date.now(), source: 'fill' }),
    );
    await done(`${liquidation.signalId}@lead3`);
    assert.equal(await outcome(`${liquidation.signalId}@lead3`, 'ce'), 'skip kept-after-liquidation');
    // half the slice, rounded down to the instrument's step (0.01), as a close would be
    const kept = floorTo(held / 2n, fx('0.01'));
    assert.deepEqual(await slices(), { lead3: held - kept, 'kept/lead3': kept });
    assert.equal(await onExchange(), held);

    // the trader closes what it has left: its slice closes whole, the kept part stays open
    assert.equal(
      await outcome(await signal({ action: 'close', qty: '0.5', positionBefore: '0.5' }, lead3), 'ce'),
      'FILLED close',
    );
    assert.deepEqual(await slices(), { lead3: 0n, 'kept/lead3': kept });
    assert.equal(await onExchange(), kept);

    const stop = await call('DELETE', '/follows/lead3?slices=close', 'token-ce');
    await done(`stop/${stop.body.requestId}@lead3`);
    assert.deepEqual(await slices(), { lead3: 0n, 'kept/lead3': 0n });
    assert.equal(await onExchange(), 0n);
  });

  it("a copier's stream pushes its own orders once recorded; a bad token gets no stream", async () => {
    const url = api.replace('http', 'ws');
    const refused = new WebSocket(`${url}/stream?token=token-nobody`);
    await new Promise<void>((resolve) => refused.addEventListener('error', () => resolve()));
    const ws = new WebSocket(`${url}/stream`, { headers: { authorization: 'Bearer token-cc' } });
    const frames: Record<string, unknown>[] = [];
    ws.addEventListener('message', (e) => frames.push(JSON.parse(String(e.data))));
    await waitFor('subscribed', async () => frames.some((f) => f.type === 'subscribed'));
    const key = await signal({});
    const pushed = await waitFor('the order pushed', async () =>
      frames.find((f) => f.type === 'order' && f.signalKey === key),
    );
    assert.equal(pushed.status, 'FILLED');
    assert.equal(pushed.action, 'open');
    // only its own: nothing of another copier's
    assert.ok(frames.every((f) => f.type === 'subscribed' || String(f.clientOrderId).endsWith(':cc')));
    ws.close();
  });
});
