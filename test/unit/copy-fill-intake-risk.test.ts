import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { LeaderTable } from '../../src/copytrade/ingress/fill-filter.js';
import { createFillIntake } from '../../src/copytrade/ingress/fill-intake.js';
import type { RiskEvent } from '../../src/copytrade/ingress/risk-events.js';

const BTC = 'BTC-USDT-SWAP';
const leaders = new LeaderTable([
  { account: 'lead', traderId: 'lead-a', instruments: [BTC], signalSource: 'fills' },
]);
const fill = (over: Record<string, unknown>) =>
  JSON.stringify({
    type: 'fill',
    account: 'lead',
    instrument: BTC,
    side: 'long',
    action: 'close',
    qty: '1',
    price: '57000',
    leverage: 10,
    positionBefore: '1',
    clientOrderId: 'liq-1',
    filledMs: Date.now(),
    fillId: '9-1',
    liquidation: true,
    ...over,
  });

function intake() {
  const risks: RiskEvent[] = [];
  const signals: TraderSignal[] = [];
  const dead: string[] = [];
  const i = createFillIntake({
    leaders: () => leaders,
    accept: async (s) => {
      signals.push(s);
      return { duplicate: false, stale: false, entryId: '1-0' };
    },
    deadLetter: async (reason) => {
      dead.push(reason);
    },
    onRisk: async (e) => {
      risks.push(e);
    },
  });
  return { i, risks, signals, dead };
}

describe('copy ingress: risk events on the fill feed', () => {
  it("a lead's liquidation fill is its signal and a liquidation request; a copier's only the request", async () => {
    const { i, risks, signals } = intake();
    i.onEvent(fill({}), Date.now());
    i.onEvent(fill({ account: 'x1', fillId: '10-1' }), Date.now());
    i.onEvent(fill({ account: 'x1', fillId: '11-1', liquidation: undefined }), Date.now());
    await i.idle();
    assert.deepEqual(
      risks.map((r) => (r.kind === 'liquidation' ? [r.liquidation.account, r.liquidation.fillId] : [])),
      [
        ['lead', '9-1'],
        ['x1', '10-1'],
      ],
    );
    assert.deepEqual(
      signals.map((s) => [s.signalId, s.liquidation]),
      [['fill-9-1', true]],
    );
  });

  it('a margin change goes on as a risk event only; one that cannot be read is dead-lettered with its reason', async () => {
    const { i, risks, signals, dead } = intake();
    const margin = {
      type: 'margin',
      account: 'lead',
      instrument: BTC,
      side: 'long',
      added: '100',
      margin: '700',
      liquidationPrice: '53300',
      atMs: 1_764_000_000_000,
      eventId: 'm-1',
    };
    i.onEvent(JSON.stringify(margin), Date.now());
    i.onEvent(JSON.stringify([{ ...margin, eventId: 'm-2' }]), Date.now());
    i.onEvent(JSON.stringify({ ...margin, side: 'up' }), Date.now());
    await i.idle();
    assert.deepEqual(
      risks.map((r) => (r.kind === 'margin' ? r.margin.eventId : '')),
      ['m-1', 'm-2'],
    );
    assert.deepEqual(signals, []);
    assert.deepEqual(dead, ['INVALID_EVENT: margin.side: expected "long" or "short"']);
    assert.equal(i.stats().invalid, 1);
  });
});

describe('copy ingress: a liquidation keeps its place among the signals', () => {
  it('is handed on after the signals taken before it, and before those taken after', async () => {
    const order: string[] = [];
    const i = createFillIntake({
      leaders: () => leaders,
      accept: async (s) => {
        // the first signal is slow to store: the liquidation must still wait for it
        if (s.signalId === 'fill-1-1') await new Promise((r) => setTimeout(r, 50));
        order.push(s.signalId);
        return { duplicate: false, stale: false, entryId: '1-0' };
      },
      deadLetter: async () => undefined,
      onRisk: async (e) => {
        if (e.kind === 'liquidation') order.push(`liq ${e.liquidation.fillId}`);
      },
    });
    const open = (fillId: string) =>
      fill({
        fillId,
        action: 'open',
        positionBefore: '0',
        liquidation: undefined,
        clientOrderId: `o${fillId}`,
      });
    i.onEvent(open('1-1'), Date.now());
    i.onEvent(fill({ account: 'x1', fillId: '2-1' }), Date.now());
    i.onEvent(open('3-1'), Date.now());
    await i.idle();
    assert.deepEqual(order, ['fill-1-1', 'liq 2-1', 'fill-3-1']);
  });
});
