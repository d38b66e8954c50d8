import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInstrumentRules } from '../../src/copytrade/domain/instrument.js';
import { defaultMaxSlippage, hasRoomForCopier } from '../../src/copytrade/domain/settings.js';
import { SettingsError } from '../../src/copytrade/domain/settings-error.js';
import { parseFollowSettings, parseLeadSettings } from '../../src/copytrade/domain/settings-parse.js';

const followBody = {
  copierId: 'c1',
  traderId: 't1',
  account: { type: 'sub', subAccount: 'copy-1' },
  sizing: { mode: 'fixed-amount', margin: '100.50' },
  leverage: 'trader',
  marginMode: 'cross',
  positionMode: 'one-way',
  instruments: ['BTC-USDT-SWAP', 'ETH-USDT-SWAP'],
  maxPositionValue: '5000.0',
  maxSlippage: '0.005',
  takeProfitRatio: '0.50',
  stopLossRatio: '0.2',
  status: 'active',
};

/** Asserts that parsing throws a SettingsError naming `field`. */
function refuses(parse: () => unknown, field: string, problem?: RegExp): void {
  assert.throws(parse, (e: unknown) => {
    assert.ok(e instanceof SettingsError, String(e));
    assert.equal(e.field, field);
    if (problem) assert.match(e.problem, problem);
    return true;
  });
}

describe('parseFollowSettings', () => {
  it('takes a full body and normalises the decimals', () => {
    assert.deepEqual(parseFollowSettings(followBody), {
      ...followBody,
      sizing: { mode: 'fixed-amount', margin: '100.5' },
      maxPositionValue: '5000',
      takeProfitRatio: '0.5',
    });
  });

  it('leaves out the optional take profit and stop loss, takes own leverage and fixed ratio', () => {
    const { takeProfitRatio: _tp, stopLossRatio: _sl, ...rest } = followBody;
    const f = parseFollowSettings({
      ...rest,
      account: { type: 'main' },
      leverage: 20,
      sizing: { mode: 'fixed-ratio', ratio: '0.25' },
    });
    assert.equal(f.takeProfitRatio, undefined);
    assert.equal('stopLossRatio' in f, false);
    assert.equal(f.leverage, 20);
    assert.deepEqual(f.sizing, { mode: 'fixed-ratio', ratio: '0.25' });
    assert.deepEqual(f.account, { type: 'main' });
  });

  it('names the field at fault', () => {
    refuses(() => parseFollowSettings(null), '', /object/);
    refuses(() => parseFollowSettings({ ...followBody, maxSlipage: '0.1' }), 'maxSlipage', /unknown/);
    refuses(() => parseFollowSettings({ ...followBody, copierId: 'a:b' }), 'copierId');
    refuses(
      () => parseFollowSettings({ ...followBody, sizing: { mode: 'fixed-amount', margin: 100 } }),
      'sizing.margin',
    );
    refuses(
      () => parseFollowSettings({ ...followBody, sizing: { mode: 'fixed-amount', margin: '0' } }),
      'sizing.margin',
    );
    refuses(() => parseFollowSettings({ ...followBody, sizing: { mode: 'double' } }), 'sizing.mode');
    refuses(
      () => parseFollowSettings({ ...followBody, sizing: { mode: 'fixed-ratio', margin: '1' } }),
      'sizing.margin',
    );
    refuses(() => parseFollowSettings({ ...followBody, account: { type: 'sub' } }), 'account.subAccount');
    refuses(() => parseFollowSettings({ ...followBody, leverage: 0 }), 'leverage');
    refuses(() => parseFollowSettings({ ...followBody, leverage: 2.5 }), 'leverage');
    refuses(() => parseFollowSettings({ ...followBody, leverage: 126 }), 'leverage');
    refuses(() => parseFollowSettings({ ...followBody, marginMode: 'crossed' }), 'marginMode');
    refuses(() => parseFollowSettings({ ...followBody, positionMode: undefined }), 'positionMode');
    refuses(() => parseFollowSettings({ ...followBody, instruments: [] }), 'instruments');
    refuses(
      () => parseFollowSettings({ ...followBody, instruments: ['A-B', 'A-B'] }),
      'instruments[1]',
      /twice/,
    );
    refuses(() => parseFollowSettings({ ...followBody, instruments: ['btc'] }), 'instruments[0]');
    refuses(() => parseFollowSettings({ ...followBody, maxSlippage: '1.5' }), 'maxSlippage', /"1.5"/);
    refuses(() => parseFollowSettings({ ...followBody, maxSlippage: 0.01 }), 'maxSlippage');
    refuses(() => parseFollowSettings({ ...followBody, stopLossRatio: '0' }), 'stopLossRatio');
    refuses(() => parseFollowSettings({ ...followBody, stopLossRatio: '1.01' }), 'stopLossRatio');
    refuses(() => parseFollowSettings({ ...followBody, status: 'on' }), 'status');
  });
});

describe('copier stops: equity stop and daily loss limit', () => {
  it('takes copyFunds with an equityStopRatio, and a daily loss limit, normalised', () => {
    const f = parseFollowSettings({
      ...followBody,
      copyFunds: '100.0',
      equityStopRatio: '0.60',
      dailyLossLimit: '25.50',
    });
    assert.deepEqual([f.copyFunds, f.equityStopRatio, f.dailyLossLimit], ['100', '0.6', '25.5']);
    // copyFunds alone is no stop, but allowed (the stop may be set later)
    assert.equal(parseFollowSettings({ ...followBody, copyFunds: '5' }).equityStopRatio, undefined);
    assert.equal(
      parseFollowSettings({ ...followBody, equityStopRatio: '1', copyFunds: '5' }).equityStopRatio,
      '1',
    );
  });

  it('refuses an equity stop without funds, ratios out of range, amounts that are not positive strings', () => {
    refuses(
      () => parseFollowSettings({ ...followBody, equityStopRatio: '0.6' }),
      'equityStopRatio',
      /copyFunds/,
    );
    refuses(
      () => parseFollowSettings({ ...followBody, copyFunds: '100', equityStopRatio: '0' }),
      'equityStopRatio',
    );
    refuses(
      () => parseFollowSettings({ ...followBody, copyFunds: '100', equityStopRatio: '1.5' }),
      'equityStopRatio',
    );
    refuses(() => parseFollowSettings({ ...followBody, copyFunds: '0' }), 'copyFunds');
    refuses(() => parseFollowSettings({ ...followBody, copyFunds: 100 }), 'copyFunds');
    refuses(() => parseFollowSettings({ ...followBody, dailyLossLimit: '-5' }), 'dailyLossLimit');
    refuses(() => parseFollowSettings({ ...followBody, dailyLossLimit: '0' }), 'dailyLossLimit');
  });
});

describe('maxSlippage: range and defaults', () => {
  it('takes 0.001 to 0.03, normalised', () => {
    assert.equal(parseFollowSettings({ ...followBody, maxSlippage: '0.001' }).maxSlippage, '0.001');
    assert.equal(parseFollowSettings({ ...followBody, maxSlippage: '0.0300' }).maxSlippage, '0.03');
  });

  it('refuses outside the range, naming the field and the range', () => {
    for (const v of ['0.0009', '0', '0.031', '0.05', '1']) {
      refuses(
        () => parseFollowSettings({ ...followBody, maxSlippage: v }),
        'maxSlippage',
        new RegExp(`from 0.001 to 0.03, got "${v}"`),
      );
    }
  });

  it('may be left out: the follow then has none, and sizing takes the instrument default', () => {
    const { maxSlippage: _, ...body } = followBody;
    const f = parseFollowSettings(body);
    assert.equal(f.maxSlippage, undefined);
    assert.equal('maxSlippage' in f, false);
    assert.equal(defaultMaxSlippage('BTC-USDT-SWAP'), '0.005');
    assert.equal(defaultMaxSlippage('ETH-USDT-SWAP'), '0.005');
    assert.equal(defaultMaxSlippage('SOL-USDT-SWAP'), '0.015');
    assert.equal(defaultMaxSlippage('BTCX-USDT-SWAP'), '0.015');
  });

  it('a stored value from before the range is clamped into it, not refused (the book keeps the follow)', () => {
    const stored = (v: string) => parseFollowSettings({ ...followBody, maxSlippage: v }, { stored: true });
    assert.equal(stored('0.05').maxSlippage, '0.03');
    assert.equal(stored('1').maxSlippage, '0.03');
    assert.equal(stored('0').maxSlippage, '0.001');
    assert.equal(stored('0.01').maxSlippage, '0.01');
    // what was never valid is still refused
    refuses(() => stored('1.5'), 'maxSlippage');
    refuses(() => stored('x'), 'maxSlippage');
  });
});

describe('parseLeadSettings', () => {
  const lead = {
    traderId: 't1',
    instruments: ['BTC-USDT-SWAP'],
    profitShareRatio: '0.10',
    onLiquidation: 'keep',
  };

  it('defaults maxCopiers to 500', () => {
    const l = parseLeadSettings(lead);
    assert.deepEqual(l, { ...lead, maxCopiers: 500, profitShareRatio: '0.1', signalSource: 'frames' });
    assert.equal(hasRoomForCopier(l, 499), true);
    assert.equal(hasRoomForCopier(l, 500), false);
  });

  it('takes its signals from frames unless it says fills; a stored row without the field is frames', () => {
    assert.equal(parseLeadSettings(lead).signalSource, 'frames');
    assert.equal(parseLeadSettings({ ...lead, signalSource: 'frames' }).signalSource, 'frames');
    assert.equal(parseLeadSettings({ ...lead, signalSource: 'fills' }).signalSource, 'fills');
    refuses(() => parseLeadSettings({ ...lead, signalSource: 'both' }), 'signalSource');
    refuses(() => parseLeadSettings({ ...lead, signalSource: 'FILLS' }), 'signalSource');
    refuses(() => parseLeadSettings({ ...lead, signalSource: null }), 'signalSource');
  });

  it('takes a profit share from 0 to 30%', () => {
    assert.equal(parseLeadSettings({ ...lead, profitShareRatio: '0' }).profitShareRatio, '0');
    assert.equal(parseLeadSettings({ ...lead, profitShareRatio: '0.3' }).profitShareRatio, '0.3');
    refuses(() => parseLeadSettings({ ...lead, profitShareRatio: '0.3000001' }), 'profitShareRatio');
    refuses(() => parseLeadSettings({ ...lead, profitShareRatio: '-0.1' }), 'profitShareRatio');
  });

  it('names the field at fault', () => {
    refuses(() => parseLeadSettings({ ...lead, maxCopiers: 0 }), 'maxCopiers');
    refuses(() => parseLeadSettings({ ...lead, maxCopiers: 5001 }), 'maxCopiers');
    refuses(() => parseLeadSettings({ ...lead, onLiquidation: 'sell' }), 'onLiquidation');
    refuses(() => parseLeadSettings({ ...lead, traderId: '' }), 'traderId');
    refuses(() => parseLeadSettings({ ...lead, extra: 1 }), 'extra');
  });
});

describe('parseInstrumentRules', () => {
  it('takes rules and refuses a min quantity off the step', () => {
    const body = {
      instrument: 'BTC-USDT-SWAP',
      contractSize: '0.01',
      minQty: '0.5',
      qtyStep: '0.1',
      tickSize: '0.10',
    };
    assert.deepEqual(parseInstrumentRules(body), { ...body, tickSize: '0.1' });
    refuses(() => parseInstrumentRules({ ...body, minQty: '0.25' }), 'minQty', /multiple/);
    refuses(() => parseInstrumentRules({ ...body, contractSize: '0' }), 'contractSize');
  });

  it('takes a per-order maximum, optional, never under the min quantity', () => {
    const body = {
      instrument: 'BTC-USDT-SWAP',
      contractSize: '0.01',
      minQty: '0.5',
      qtyStep: '0.1',
      tickSize: '0.1',
    };
    assert.deepEqual(parseInstrumentRules({ ...body, maxQty: '10000.0' }), { ...body, maxQty: '10000' });
    assert.equal(parseInstrumentRules(body).maxQty, undefined);
    refuses(() => parseInstrumentRules({ ...body, maxQty: '0.4' }), 'maxQty', /at least minQty/);
    refuses(() => parseInstrumentRules({ ...body, maxQty: 'x' }), 'maxQty');
  });
});
