/**
 * The baseline of `npm run bench:settle`: the same orders settled the plain way. The same
 * poller takes rows in; each order then runs as one async function: four awaited downstream
 * calls, one MySQL write after each, no streams, no batching, no retries. Run as a child
 * process with the same TF_* settings as the engine.
 */
import { createDownstream } from '../../src/clients/downstream.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { createPool } from '../../src/infra/mysql/client.js';
import { carryAfter, planStep, STEPS } from '../../src/settlement/domain/flows.js';
import type { IntakeOrder } from '../../src/settlement/domain/order.js';
import { executor } from '../../src/settlement/engine.js';
import { type IntakeSink, insertOrders } from '../../src/settlement/intake/intake.js';
import { IntakePoller, pollerOptions } from '../../src/settlement/intake/intake-poller.js';

const config = loadConfig();
const log = createLogger(config.logLevel, 'baseline');
const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 32 });
const counterPool = createPool(config.mysqlUrl, config.counterDb, { connections: 2 });
const execute = executor(
  createDownstream({
    counterUrl: config.counterUrl,
    fundingUrl: config.fundingUrl,
    tradeUrl: config.tradeUrl,
    timeoutMs: config.httpTimeoutMs,
    connections: config.httpConnections,
  }),
);
// as many orders in flight as the engine has downstream calls in flight (per step × 4 steps)
const limit = config.stepConcurrency * STEPS.length;
let running = 0;
const waiting: IntakeOrder[] = [];

async function settle(o: IntakeOrder): Promise<void> {
  let carry: string | null = null;
  for (const step of STEPS) {
    const call = planStep(o, step, carry);
    carry = carryAfter(call, await execute(call));
    const done = step === STEPS.length;
    await pool.query(
      'UPDATE settlement_order SET step=?, carry=?, status=?, updated_ms=?, done_ms=? WHERE order_id=?',
      [step, carry, done ? 'DONE' : 'RUNNING', Date.now(), done ? Date.now() : null, o.orderId],
    );
  }
}

function pump(): void {
  while (running < limit && waiting.length > 0) {
    const o = waiting.shift() as IntakeOrder;
    running++;
    settle(o)
      .catch((err) => log.error({ err, orderId: o.orderId }, 'baseline order failed'))
      .finally(() => {
        running--;
        pump();
      });
  }
}

const sink: IntakeSink = {
  async takeIn(orders, source) {
    if (orders.length === 0) return 0;
    await insertOrders(pool, orders, source);
    waiting.push(...orders);
    pump();
    return orders.length;
  },
  async reject() {},
};

const poller = new IntakePoller(counterPool, pool, sink, pollerOptions(config), log);
poller.start();
process.once('SIGTERM', async () => {
  await poller.stop();
  process.exit(0);
});
