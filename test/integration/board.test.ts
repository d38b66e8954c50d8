import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { PROFIT_SHARE_QUEUE } from '../../src/copytrade/profit-share/queue.js';
import { createLogger } from '../../src/infra/log.js';
import { createRedis } from '../../src/infra/redis.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { PARKED_QUEUE, ParkedQueue, parkedJobId } from '../../src/settlement/ops/parked-queue.js';
import { bullPrefix, RETRY_QUEUE } from '../../src/settlement/steps/retry-queue.js';
import { type Child, freePort, REDIS_URL, TestWorld, waitFor } from '../support/harness.js';
import { assertLedgerClean, assertStepsInOrder, statusCounts } from '../support/settlement.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = randomBytes(16).toString('hex');

/** Starts `tradeflow board` (or `start --board`) and resolves with the URL it prints. */
async function startBoard(world: TestWorld, env: Record<string, string>, args = ['board']) {
  const port = await freePort();
  const child = world.spawn(args, { TF_BOARD_PORT: String(port), ...env });
  const url = await waitFor('the board to print its URL', async () => {
    if (child.proc.exitCode !== null) throw new Error(`board exited: ${child.stderr.slice(-500)}`);
    return /Bull Board on (http:\S+)/.exec(child.stdout)?.[1];
  });
  return { child, url, port };
}

const orderRow = async (world: TestWorld, orderId: string) => {
  const [r] = await world.engineDb.query<RowDataPacket[]>(
    'SELECT status, step, attempt FROM settlement_order WHERE order_id=?',
    [orderId],
  );
  return r[0] as { status: string; step: number; attempt: number } | undefined;
};

/** The count a queue's card on the overview shows for a status, or its total ("N Jobs"). */
async function cardCount(page: Page, queue: string, status: 'failed' | 'total'): Promise<number | null> {
  return page.evaluate(
    (queue, status) => {
      const title = document.querySelector(`main a[title="${queue}"]`);
      const card = title?.closest('li');
      if (!card) return null;
      const text =
        status === 'total'
          ? /(\d+) Jobs?/.exec(card.textContent ?? '')?.[1]
          : card.querySelector(`a[href$="/queue/${queue}?status=${status}"] span:last-child`)?.textContent;
      return text ? Number(text) : null;
    },
    queue,
    status,
  );
}

describe('Bull Board for the retry and parked queues', () => {
  const world = new TestWorld();
  let admin: SimAdmin;
  let redis: Redis;
  let parkedQueue: Queue;
  let retryQueue: Queue;
  let browser: Browser;
  const rows = makeCounterRows(3, { flow: 'open', shards: 16, runId: 'brd' });

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
    await world.setUp();
    admin = await world.startSim({ 'trade/market': { rejectRate: 1, rejectCode: 'INSUFFICIENT_BALANCE' } });
    await world.startEngine();
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const prefix = bullPrefix(world.config.redisPrefix);
    parkedQueue = new Queue(PARKED_QUEUE, { connection: redis, prefix });
    retryQueue = new Queue(RETRY_QUEUE, { connection: redis, prefix });
    await writeCounterRows(world.counterDb, rows);
    await waitFor('3 parked orders', async () => (await statusCounts(world.engineDb, 'brd-')).MANUAL === 3);
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await parkedQueue?.close();
    await retryQueue?.close();
    redis?.disconnect();
    await world.tearDown();
  });

  it('lists both queues with their counts; a parked order retried on the page reaches DONE', async () => {
    const { url } = await startBoard(world, { TF_BOARD_AUTH: `token:${TOKEN}` });
    const manual = (await statusCounts(world.engineDb, 'brd-')).MANUAL;
    await waitFor('the board to hold every parked order as a failed job', async () => {
      return (await parkedQueue.getFailedCount()) === manual;
    });

    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    // the token once in the URL; the page then lives on the session cookie, as a browser would
    const res = await page.goto(`${url}?token=${TOKEN}`, { waitUntil: 'networkidle0' });
    assert.equal(res?.status(), 200);
    assert.equal(
      new URL(page.url()).searchParams.has('token'),
      false,
      'the token stays out of the address bar',
    );
    await page.waitForSelector(`main a[title="${PARKED_QUEUE}"]`);
    await page.waitForSelector(`main a[title="${RETRY_QUEUE}"]`);
    assert.equal(await cardCount(page, PARKED_QUEUE, 'failed'), manual);
    const retryCounts = Object.values(await retryQueue.getJobCounts()).reduce((a, b) => a + b, 0);
    assert.equal(await cardCount(page, RETRY_QUEUE, 'total'), retryCounts);

    await admin.setFaults({});
    const target = rows[1]?.orderId as string;
    const jobId = parkedJobId({ orderId: target, step: 3, attempt: 1 });
    await page.goto(`${url}queue/${PARKED_QUEUE}?status=failed`, { waitUntil: 'networkidle0' });
    const card = await page.waitForSelector(
      `xpath///div[contains(@class,"card-")][.//span[text()="${jobId}"]][.//button]`,
    );
    assert.ok(card, `no card for job ${jobId}`);
    // the card's first action is Retry (an icon); the board asks to confirm it
    const retry = await card.$('button:has(svg.lucide-refresh-cw)');
    assert.ok(retry, 'no Retry button on the job');
    await retry.click();
    await page.locator('button::-p-text(Confirm)').click();

    await waitFor(
      `${target} to reach DONE`,
      async () => (await orderRow(world, target))?.status === 'DONE',
      20_000,
    );
    assert.deepEqual(await statusCounts(world.engineDb, 'brd-'), { RUNNING: 0, DONE: 1, MANUAL: 2 });
    const job = await parkedQueue.getJob(jobId);
    assert.equal(await job?.getState(), 'completed');
    assert.deepEqual(job?.returnvalue, { retried: true, step: 3, attempt: 2 });

    // the page follows: one failed job fewer
    await page.goto(url, { waitUntil: 'networkidle0' });
    await waitFor('the overview to show 2 parked', async () => {
      await page.reload({ waitUntil: 'networkidle0' });
      return (await cardCount(page, PARKED_QUEUE, 'failed')) === 2;
    });
    await page.close();
  });

  it('drops the job of a parking retried by `tradeflow retry`', async () => {
    const target = rows[2]?.orderId as string;
    const jobId = parkedJobId({ orderId: target, step: 3, attempt: 1 });
    assert.equal(await (await parkedQueue.getJob(jobId))?.getState(), 'failed');
    const out = await world.run(['retry', target]);
    assert.equal(out.code, 0, out.stderr);
    await waitFor(
      `${target} to reach DONE`,
      async () => (await orderRow(world, target))?.status === 'DONE',
      20_000,
    );
    await waitFor('its job to leave the board', async () => (await parkedQueue.getJob(jobId)) === undefined);
    assert.equal((await statusCounts(world.engineDb, 'brd-')).MANUAL, 1);
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });

  it('asks for the token or basic credentials when set, and refuses a non-loopback host without them', async () => {
    const token = await startBoard(world, { TF_BOARD_AUTH: `token:${TOKEN}` });
    const bare = await fetch(`${token.url}api/queues`);
    assert.equal(bare.status, 401);
    assert.match(bare.headers.get('www-authenticate') ?? '', /^Bearer/);
    const bearer = await fetch(`${token.url}api/queues`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(bearer.status, 200);
    const names = ((await bearer.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
    assert.deepEqual(names.sort(), [PARKED_QUEUE, PROFIT_SHARE_QUEUE, RETRY_QUEUE].sort());
    assert.equal((await fetch(`${token.url}?token=wrong-${TOKEN}`)).status, 401);
    const once = await fetch(`${token.url}?token=${TOKEN}`, { redirect: 'manual' });
    assert.equal(once.status, 303);
    assert.equal(once.headers.get('location'), '/');
    const cookie = (once.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.ok(!cookie.includes(TOKEN), 'the cookie does not carry the secret');
    assert.equal((await fetch(`${token.url}api/queues`, { headers: { cookie } })).status, 200);

    const basic = await startBoard(world, { TF_BOARD_AUTH: 'basic:ops:pa:ss' });
    const challenge = await fetch(basic.url);
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    const authorization = `Basic ${Buffer.from('ops:pa:ss').toString('base64')}`;
    assert.equal((await fetch(basic.url, { headers: { authorization } })).status, 200);

    for (const args of [['board'], ['start', '--board']]) {
      const open = await world.run(args, { TF_BOARD_HOST: '0.0.0.0', TF_BOARD_AUTH: '' });
      assert.equal(open.code, 2, `${args.join(' ')}: ${open.stderr}`);
      assert.match(open.stderr, /TF_BOARD_AUTH: required when TF_BOARD_HOST \(0\.0\.0\.0\) is not loopback/);
    }
    const malformed = await world.run(['board'], { TF_BOARD_AUTH: 'bearer:something-secret' });
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /TF_BOARD_AUTH: expected token:SECRET or basic:USER:PASSWORD/);
    assert.doesNotMatch(malformed.stderr, /something-secret/);
    for (const c of [token.child, basic.child]) assert.equal(await stop(c), 0, c.stderr);
  });

  it('`start --board` serves the board from the engine process and closes it on SIGTERM', async () => {
    const { child, url, port } = await startBoard(world, {}, ['start', '--board']);
    const res = await fetch(`${url}api/queues`);
    assert.equal(res.status, 200);
    assert.equal(await statusFor(port, 'rebound.example'), 403, 'a foreign Host is refused without auth');
    const queues = ((await res.json()) as { queues: { name: string; counts: { failed: number } }[] }).queues;
    assert.equal(
      queues.find((q) => q.name === PARKED_QUEUE)?.counts.failed,
      (await statusCounts(world.engineDb, 'brd-')).MANUAL,
    );
    assert.equal(await stop(child), 0, child.stderr);
  });

  it('parks a job at its first run; a retry of a parking that is over completes with the reason', async () => {
    // a queue of its own (own prefix, no other worker or sync) makes each run observable
    const prefix = `${world.config.redisPrefix}x`;
    const client = createRedis(REDIS_URL);
    const parked = new ParkedQueue(REDIS_URL, prefix, world.engineDb, client, createLogger('silent'));
    try {
      parked.startWorker();
      const manual = (await statusCounts(world.engineDb, 'brd-')).MANUAL;
      assert.deepEqual(await parked.sync(), { added: manual, removed: 0 });
      assert.deepEqual(await parked.sync(), { added: 0, removed: 0 }, 'sync is idempotent');
      const target = rows[0]?.orderId as string;
      const jobId = parkedJobId({ orderId: target, step: 3, attempt: 1 });
      const job = await waitFor('the first run to park the job', async () => {
        const j = await parked.queue.getJob(jobId);
        return (await j?.getState()) === 'failed' ? j : undefined;
      });
      assert.match(job.failedReason, /^INSUFFICIENT_BALANCE: /);

      const out = await world.run(['retry', target]);
      assert.equal(out.code, 0, out.stderr);
      await waitFor(
        `${target} to reach DONE`,
        async () => (await orderRow(world, target))?.status === 'DONE',
      );
      await job.retry('failed');
      await waitFor('the retry to complete', async () => (await job.getState()) === 'completed');
      const done = await parked.queue.getJob(jobId);
      assert.deepEqual(done?.returnvalue, { retried: false, reason: 'order is DONE, not MANUAL' });
    } finally {
      await parked.queue.obliterate({ force: true });
      await parked.close();
      client.disconnect();
    }
  });
});

async function stop(child: Child): Promise<number | null> {
  child.kill('SIGTERM');
  return child.exited;
}

/** GET / with a Host header of our choosing (fetch does not let one set it). */
function statusFor(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
  });
}
