import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import {
  createExchangeClient,
  DownstreamError,
  type FillEvent,
  subscribeFills,
} from '../../src/clients/exchange.js';
import { createLogger } from '../../src/infra/log.js';
import { startSim } from '../../src/sim/server.js';
import { waitFor } from '../support/harness.js';

/**
 * The fill events WebSocket on its own: filters, shutdown, and a subscriber that stops
 * reading, which is disconnected instead of being waited for or silently skipped.
 */

const MYSQL_URL = process.env.TF_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

async function sim(eventsMaxBackpressure?: number) {
  const running = await startSim({
    host: '127.0.0.1',
    port: 0,
    feeRate: '0.001',
    faults: {},
    mysqlUrl: MYSQL_URL,
    // no counter listing is called here, so the (lazy) MySQL pool never connects
    counterDb: 'tf_test_sim_unused',
    logger: createLogger('silent'),
    exchange: eventsMaxBackpressure === undefined ? {} : { eventsMaxBackpressure },
  });
  const url = `http://127.0.0.1:${running.port}`;
  return { running, url, exchange: createExchangeClient(url, { timeoutMs: 10_000 }) };
}

/** A WebSocket client that completes the handshake and then never reads again. */
async function stalledSubscriber(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(
        'GET /exchange/events HTTP/1.1\r\nHost: sim\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      socket.once('data', () => {
        socket.pause();
        resolve();
      });
    });
  });
  let received = 0;
  socket.on('data', (d: Buffer) => {
    received += d.length;
  });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(received)));
  return { socket, closed };
}

describe('exchange fill events', () => {
  it('filters by account, and tells subscribers when the simulator stops', async () => {
    const { running, url, exchange } = await sim();
    try {
      const a: FillEvent[] = [];
      const ab: FillEvent[] = [];
      const closes: number[] = [];
      const subA = await subscribeFills(url, { accounts: ['a'], onFill: (e) => a.push(e) });
      await subscribeFills(url, {
        accounts: ['a', 'b'],
        onFill: (e) => ab.push(e),
        onClose: ({ code }) => closes.push(code),
      });
      for (const account of ['a', 'b', 'c'])
        await exchange.createAccount({ account, balances: { USDT: '1000' } });
      await exchange.placeOrders(
        ['c', 'b', 'a'].map((account) => ({
          account,
          clientOrderId: `o-${account}`,
          instrument: 'ETH-USDT-SWAP' as const,
          side: 'sell' as const,
          qty: '1',
        })),
      );
      await waitFor('the filtered fills', async () => a.length === 1 && ab.length === 2, 5000, 10);
      assert.deepEqual(
        ab.map((e) => `${e.account} ${e.side} ${e.action} ${e.instrument}`),
        ['b short open ETH-USDT-SWAP', 'a short open ETH-USDT-SWAP'],
      );
      await subA.close();

      const refused = await subscribeFills(url, { accounts: ['exchange:house'], onFill: () => {} }).then(
        () => assert.fail('a bad filter was accepted'),
        (e: unknown) => e,
      );
      assert.ok(refused instanceof DownstreamError && refused.code === 'UNAVAILABLE', String(refused));

      await running.close();
      await waitFor('the close to reach the subscriber', async () => closes.length === 1, 5000, 10);
      assert.deepEqual(closes, [1001]);
    } finally {
      await exchange.close();
      await running.close();
    }
  });

  it('disconnects a subscriber that stops reading; the others get every fill', async () => {
    const { running, url, exchange } = await sim(64 * 1024);
    try {
      let got = 0;
      let bytes = 0;
      const reader = await subscribeFills(url, {
        onFill: (e) => {
          got++;
          bytes += JSON.stringify(e).length;
        },
      });
      const stalled = await stalledSubscriber(running.port);
      for (let i = 0; i < 200; i++) {
        await exchange.createAccount({ account: `s${i}`, balances: { USDT: '1000000' } });
      }
      // ~220 bytes a fill: 30,000 fills overflow the kernel's socket buffers and the 64 KiB allowed
      const batches = 30;
      for (let k = 0; k < batches; k++) {
        const results = await exchange.placeOrders(
          Array.from({ length: 1000 }, (_, i) => ({
            account: `s${i % 200}`,
            clientOrderId: `k${k}-${i}`,
            instrument: 'BTC-USDT-SWAP' as const,
            side: k % 2 === 0 ? ('buy' as const) : ('sell' as const),
            qty: '0.01',
          })),
        );
        assert.ok(results.every((r) => r.status === 'filled'));
      }
      await waitFor('every fill at the reader', async () => got === batches * 1000, 20_000, 20);
      stalled.socket.resume();
      let guard: NodeJS.Timeout | undefined;
      const received = await Promise.race([
        stalled.closed,
        new Promise<number>((_, reject) => {
          guard = setTimeout(() => reject(new Error('the stalled subscriber was not disconnected')), 10_000);
        }),
      ]).finally(() => clearTimeout(guard));
      // it got what its socket buffers held, then was dropped: not every fill
      assert.ok(received < bytes, `the stalled subscriber got ${received} of ${bytes} bytes`);
      await reader.close();
    } finally {
      await exchange.close();
      await running.close();
    }
  });
});
