import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LEVEL_RULES } from '../../src/copytrade/domain/eligibility.js';
import {
  changedLeadSettings,
  describeChange,
  parseLeadSettingsChange,
} from '../../src/copytrade/domain/lead-settings-change.js';
import type { LeadSettings } from '../../src/copytrade/domain/settings.js';
import { SettingsError } from '../../src/copytrade/domain/settings-error.js';

const l1 = DEFAULT_LEVEL_RULES[0] as (typeof DEFAULT_LEVEL_RULES)[number];
const lead: LeadSettings = Object.freeze({
  traderId: 'u1',
  instruments: ['BTC-USDT-SWAP'],
  maxCopiers: 100,
  profitShareRatio: '0.1',
  onLiquidation: 'close',
  signalSource: 'frames',
});

describe("a lead's change of its own settings", () => {
  it('parses any of its four fields, normalised, and nothing else', () => {
    assert.deepEqual(parseLeadSettingsChange({ profitShareRatio: '0.050', minCopyAmount: '20.50' }), {
      profitShareRatio: '0.05',
      minCopyAmount: '20.5',
    });
    assert.deepEqual(parseLeadSettingsChange({ onLiquidation: 'keep', instruments: ['ETH-USDT-SWAP'] }), {
      onLiquidation: 'keep',
      instruments: ['ETH-USDT-SWAP'],
    });
    for (const [body, field] of [
      [{ maxCopiers: 5 }, 'maxCopiers'],
      [{ signalSource: 'fills' }, 'signalSource'],
      [{ profitShareRatio: 0.05 }, 'profitShareRatio'],
      [{ profitShareRatio: '0.31' }, 'profitShareRatio'],
      [{ instruments: ['BTC-USDT-SWAP', 'BTC-USDT-SWAP'] }, 'instruments[1]'],
      [{ onLiquidation: 'sell' }, 'onLiquidation'],
      [{ minCopyAmount: '-1' }, 'minCopyAmount'],
      [{}, ''],
      [[], ''],
    ] as const) {
      assert.throws(
        () => parseLeadSettingsChange(body),
        (e: unknown) => e instanceof SettingsError && e.field === field,
        JSON.stringify(body),
      );
    }
  });

  it("applies within the level's share cap, keeping what it does not name", () => {
    const next = changedLeadSettings(lead, { profitShareRatio: '0.05' }, l1);
    assert.deepEqual(next, { ...lead, profitShareRatio: '0.05' });
    assert.deepEqual(changedLeadSettings(lead, { profitShareRatio: '0.15' }, l1), {
      ratioAboveLevel: 'level 1 allows a profit share of at most 0.1, asked 0.15',
    });
    assert.deepEqual(changedLeadSettings(lead, { profitShareRatio: '0.1' }, l1), lead);
    assert.equal(
      describeChange(lead, { ...lead, profitShareRatio: '0.05' }, { from: '0', to: '20' }),
      'profitShareRatio 0.1 → 0.05; minCopyAmount 0 → 20',
    );
    assert.equal(describeChange(lead, lead, { from: '0', to: '0' }), 'unchanged');
  });
});
