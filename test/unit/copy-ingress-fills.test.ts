import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  filterFill,
  filterFillText,
  LeaderTable,
  peekAccount,
} from '../../src/copytrade/ingress/fill-filter.js';

const leaders = new LeaderTable([
  {
    account: 'acc-1',
    traderId: 'trader-a',
    instruments: ['BTC-USDT-SWAP', 'ETH-USDT-SWAP'],
    signalSource: 'fills',
  },
  { account: 'acc-2', traderId: 'trader-b', instruments: ['ETH-USDT-SWAP'], signalSource: 'fills' },
  { account: 'acc-3', traderId: 'trader-c', instruments: ['BTC-USDT-SWAP'], signalSource: 'frames' },
]);

const fill = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'fill',
  account: 'acc-1',
  instrument: 'BTC-USDT-SWAP',
  side: 'short',
  action: 'close',
  qty: '1.5',
  price: '64000.25',
  leverage: 20,
  positionBefore: '4',
  clientOrderId: 'my-order-1',
  filledMs: 1_764_000_000_000,
  fillId: 'f-981',
  ...over,
});
const text = (over: Record<string, unknown> = {}) => JSON.stringify(fill(over));

describe('copy ingress: fill filter', () => {
  it('turns a lead trader’s fill on an instrument it leads into its signal', () => {
    assert.deepEqual(filterFillText(text(), leaders), {
      kind: 'signal',
      signal: {
        signalId: 'fill-f-981',
        traderId: 'trader-a',
        instrument: 'BTC-USDT-SWAP',
        action: 'close',
        side: 'short',
        qty: '1.5',
        price: '64000.25',
        leverage: 20,
        positionBefore: '4',
        filledMs: 1_764_000_000_000,
      },
    });
  });

  it('drops fills of other accounts, of instruments not led, other events, and copy orders', () => {
    assert.deepEqual(filterFillText(text({ account: 'acc-9' }), leaders), {
      kind: 'drop',
      reason: 'not-leader',
    });
    assert.deepEqual(filterFillText(text({ account: 'acc-2' }), leaders), {
      kind: 'drop',
      reason: 'not-led',
    });
    assert.deepEqual(filterFillText(text({ type: 'order' }), leaders), { kind: 'drop', reason: 'not-fill' });
    assert.deepEqual(filterFillText(text({ clientOrderId: 'fill-f-1:copier-7' }), leaders), {
      kind: 'drop',
      reason: 'copy-order',
    });
    assert.deepEqual(filterFill(null, leaders), { kind: 'drop', reason: 'not-fill' });
    assert.deepEqual(filterFill(fill({ account: 3 }), leaders), { kind: 'drop', reason: 'not-leader' });
    // no leaders at all
    assert.deepEqual(filterFillText(text(), LeaderTable.EMPTY), { kind: 'drop', reason: 'not-leader' });
  });

  it('drops the fills of a lead whose signals come from its frames (they mirror its frames), parsed or not', () => {
    const drop = { kind: 'drop', reason: 'frames-lead' };
    assert.deepEqual(filterFillText(text({ account: 'acc-3' }), leaders), drop);
    assert.deepEqual(filterFillText('{"type":"fill","account":"acc-3","qty":', leaders), drop);
    assert.deepEqual(filterFillText(JSON.stringify(fill({ account: 'acc-3' }), null, 2), leaders), drop);
    assert.deepEqual(filterFill(fill({ account: 'acc-3', instrument: 'ETH-USDT-SWAP' }), leaders), drop);
  });

  it('drops another account’s event without parsing it', () => {
    // not JSON past the account: parsing it would make it invalid, the filter never gets there
    assert.deepEqual(filterFillText('{"type":"fill","account":"acc-9","qty":', leaders), {
      kind: 'drop',
      reason: 'not-leader',
    });
    assert.deepEqual(filterFillText('{"type":"fill","account":"acc-1","qty":', leaders).kind, 'invalid');
  });

  it('reads the account without parsing only where that is sound, and parses otherwise', () => {
    assert.equal(peekAccount('{"type":"fill","account":"acc-1"}'), 'acc-1');
    assert.equal(peekAccount('{"type":"fill","account": "acc-1"}'), undefined);
    assert.equal(peekAccount('{"type":"fill","account":"a\\"b"}'), undefined);
    assert.equal(peekAccount('{"type":"fill"}'), undefined);
    // a value that mentions an account is escaped, so it is not mistaken for the key
    assert.equal(peekAccount(JSON.stringify({ note: '"account":"acc-9"', account: 'acc-1' })), 'acc-1');
    // spaced JSON is parsed and decided the same way
    assert.equal(filterFillText(JSON.stringify(fill(), null, 2), leaders).kind, 'signal');
    assert.deepEqual(filterFillText(JSON.stringify(fill({ account: 'acc-9' }), null, 2), leaders), {
      kind: 'drop',
      reason: 'not-leader',
    });
  });

  it('takes numeric fill ids and string leverage; lets the copy-order test be replaced', () => {
    const v = filterFillText(text({ fillId: 123, leverage: '20' }), leaders);
    assert.equal(v.kind, 'signal');
    if (v.kind === 'signal') {
      assert.equal(v.signal.signalId, 'fill-123');
      assert.equal(v.signal.leverage, 20);
    }
    const isCopyOrder = (id: string) => id.startsWith('cp-');
    assert.equal(filterFillText(text({ clientOrderId: 'a:b' }), leaders, { isCopyOrder }).kind, 'signal');
    assert.equal(filterFillText(text({ clientOrderId: 'cp-1' }), leaders, { isCopyOrder }).kind, 'drop');
    assert.equal(filterFillText(text({ clientOrderId: undefined }), leaders).kind, 'signal');
  });

  it('reports a lead trader’s malformed fill with the field at fault', () => {
    const invalid = (over: Record<string, unknown>, path: string) => {
      const v = filterFillText(text(over), leaders);
      assert.equal(v.kind, 'invalid', path);
      if (v.kind === 'invalid') assert.deepEqual([v.error.code, v.error.path], ['INVALID_SIGNAL', path]);
    };
    invalid({ qty: 1.5 }, 'event.qty');
    invalid({ side: 'sell' }, 'event.side');
    invalid({ fillId: 'f:1' }, 'event.fillId');
    invalid({ fillId: undefined }, 'event.fillId');
    invalid({ instrument: 5 }, 'event.instrument');
    invalid({ clientOrderId: 5 }, 'event.clientOrderId');
    invalid({ qty: '5', positionBefore: '4' }, 'event.positionBefore');
    invalid({ filledMs: 'now' }, 'event.filledMs');
  });
});

describe('copy ingress: leader table', () => {
  it('merges instruments of one account, and refuses an account led by two traders', () => {
    const t = new LeaderTable([
      { account: 'x', traderId: 't1', instruments: ['A'], signalSource: 'fills' },
      { account: 'x', traderId: 't1', instruments: ['B'], signalSource: 'fills' },
    ]);
    assert.equal(t.leaderOf('x', 'A'), 't1');
    assert.equal(t.leaderOf('x', 'B'), 't1');
    assert.equal(t.leaderOf('x', 'C'), undefined);
    assert.equal(t.size, 1);
    assert.deepEqual(t.lead('t1'), { signalSource: 'fills', instruments: new Set(['A', 'B']) });
    assert.equal(t.lead('t2'), undefined);
    assert.throws(
      () =>
        new LeaderTable([
          { account: 'x', traderId: 't1', instruments: ['A'], signalSource: 'fills' },
          { account: 'x', traderId: 't2', instruments: ['B'], signalSource: 'fills' },
        ]),
      /led by both/,
    );
    assert.throws(
      () =>
        new LeaderTable([
          { account: 'x', traderId: 't1', instruments: ['A'], signalSource: 'fills' },
          { account: 'y', traderId: 't1', instruments: ['B'], signalSource: 'frames' },
        ]),
      /both frames and fills/,
    );
    assert.throws(
      () => new LeaderTable([{ account: 'x', traderId: 'a:b', instruments: [], signalSource: 'fills' }]),
      /bad trader id/,
    );
  });
});
