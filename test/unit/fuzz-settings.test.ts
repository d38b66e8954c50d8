import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SettingsError } from '../../src/copytrade/domain/settings-error.js';
import { parseFollowSettings, parseLeadSettings } from '../../src/copytrade/domain/settings-parse.js';
import { money } from '../../src/domain/money.js';
import {
  id,
  instrument,
  nonString,
  notId,
  notPositiveDecimal,
  positiveDecimal,
  runs,
} from '../support/fuzz.js';

/** Parses, or throws a SettingsError (never any other error). */
function parsesOrNames(parse: () => unknown): SettingsError | undefined {
  try {
    parse();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof SettingsError, `not a SettingsError: ${String(err)}`);
    return err;
  }
}

const instruments = fc.uniqueArray(instrument, { minLength: 1, maxLength: 4 });
/** A decimal string in [0, max] with at most 4 places */
const ratioUpTo = (max: number) =>
  fc
    .integer({ min: 0, max: max * 10_000 })
    .map((n) => (n / 10_000).toFixed(n % 7 === 0 ? 4 : 2).replace(/0+$/, '0'));

const lead = fc
  .record(
    {
      traderId: id,
      instruments,
      maxCopiers: fc.integer({ min: 1, max: 5000 }),
      profitShareRatio: ratioUpTo(0.3),
      onLiquidation: fc.constantFrom('close', 'keep'),
    },
    { requiredKeys: ['traderId', 'instruments', 'profitShareRatio', 'onLiquidation'] },
  )
  .map((o) => ({ ...o }));

const follow = fc
  .record({
    copierId: id,
    traderId: id,
    account: fc.oneof(
      fc.constant({ type: 'main' }),
      id.map((s) => ({ type: 'sub', subAccount: s })),
    ),
    sizing: fc.oneof(
      positiveDecimal.map((m) => ({ mode: 'fixed-amount', margin: m })),
      positiveDecimal.map((r) => ({ mode: 'fixed-ratio', ratio: r })),
    ),
    leverage: fc.oneof(fc.constant('trader'), fc.integer({ min: 1, max: 125 })),
    marginMode: fc.constantFrom('cross', 'isolated'),
    positionMode: fc.constantFrom('one-way', 'hedge'),
    instruments,
    maxPositionValue: positiveDecimal,
    maxSlippage: fc.integer({ min: 10, max: 300 }).map((n) => (n / 10_000).toFixed(n % 7 === 0 ? 4 : 3)),
    status: fc.constantFrom('active', 'paused', 'stopped'),
  })
  .map((o) => ({ ...o }));

const badLead: Record<string, fc.Arbitrary<unknown>> = {
  traderId: fc.oneof(notId, nonString, fc.constant(undefined)),
  instruments: fc.oneof(
    fc.constant([]),
    fc.constant(['btc']),
    fc.constant(['A', 'A']),
    nonString.filter((v) => !Array.isArray(v)),
  ),
  maxCopiers: fc.oneof(
    fc.integer({ max: 0 }),
    fc.integer({ min: 5001 }),
    fc.constant(1.5),
    fc.string(),
    fc.constant(null),
  ),
  profitShareRatio: fc.oneof(
    fc.constantFrom('0.31', '-0.1', '1', 'x', ''),
    nonString,
    fc.constant(undefined),
  ),
  onLiquidation: fc.oneof(
    fc.string().filter((s) => s !== 'close' && s !== 'keep'),
    nonString,
    fc.constant(undefined),
  ),
};

const badFollow: Record<string, fc.Arbitrary<unknown>> = {
  copierId: fc.oneof(notId, nonString, fc.constant(undefined)),
  traderId: fc.oneof(notId, nonString, fc.constant(undefined)),
  leverage: fc.oneof(
    fc.integer({ max: 0 }),
    fc.integer({ min: 126 }),
    fc.constant(2.5),
    fc.constant('10'),
    fc.constant(null),
  ),
  marginMode: fc.oneof(
    fc.string().filter((s) => s !== 'cross' && s !== 'isolated'),
    nonString,
  ),
  positionMode: fc.oneof(
    fc.string().filter((s) => s !== 'one-way' && s !== 'hedge'),
    nonString,
  ),
  maxPositionValue: fc.oneof(notPositiveDecimal, nonString, fc.constant(undefined)),
  maxSlippage: fc.oneof(fc.constantFrom('0.031', '0.0009', '0', '1.01', '-0.01', 'x', ''), nonString),
  status: fc.oneof(
    fc.string().filter((s) => !['active', 'paused', 'stopped'].includes(s)),
    nonString,
  ),
  takeProfitRatio: fc.oneof(
    fc.constantFrom('0', '1000.1', '-1', 'x'),
    nonString.filter((v) => v !== null),
  ),
  stopLossRatio: fc.oneof(
    fc.constantFrom('0', '1.1', '-1', 'x'),
    nonString.filter((v) => v !== null),
  ),
};

function withField(o: object, field: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...o };
  if (value === undefined) delete out[field];
  else out[field] = value;
  return out;
}

const mutationOf = (bad: Record<string, fc.Arbitrary<unknown>>) =>
  fc
    .constantFrom(...Object.keys(bad))
    .chain((f) => fc.tuple(fc.constant(f), bad[f] as fc.Arbitrary<unknown>));

describe('fuzz: lead settings', () => {
  it('never throws anything but a SettingsError, on any JSON', () => {
    const body = fc.oneof(
      fc.jsonValue(),
      lead.chain((l) =>
        fc
          .tuple(fc.constantFrom(...Object.keys(badLead)), fc.jsonValue())
          .map(([k, v]) => withField(l, k, v)),
      ),
    );
    fc.assert(
      fc.property(body, (b) => void parsesOrNames(() => parseLeadSettings(b))),
      runs(400),
    );
  });

  it('takes a valid body and gives back its fields', () => {
    fc.assert(
      fc.property(lead, (b) => {
        const l = parseLeadSettings(b);
        assert.equal(l.traderId, b.traderId);
        assert.deepEqual(l.instruments, b.instruments);
        assert.equal(l.maxCopiers, b.maxCopiers ?? 500);
        assert.equal(l.profitShareRatio, money(b.profitShareRatio).toFixed());
        assert.equal(l.onLiquidation, b.onLiquidation);
      }),
      runs(200),
    );
  });

  it('refuses a body with one bad field, naming it', () => {
    fc.assert(
      fc.property(lead, mutationOf(badLead), (b, [field, value]) => {
        const e = parsesOrNames(() => parseLeadSettings(withField(b, field, value)));
        assert.ok(e, `${field}=${JSON.stringify(value)} was taken`);
        assert.ok(e.field === field || e.field.startsWith(`${field}[`), `${field}: ${e.message}`);
      }),
      runs(400),
    );
  });
});

describe('fuzz: follow settings', () => {
  it('never throws anything but a SettingsError, on any JSON', () => {
    const body = fc.oneof(
      fc.jsonValue(),
      follow.chain((f) =>
        fc
          .tuple(
            fc.constantFrom(...Object.keys(badFollow), 'account', 'sizing', 'instruments'),
            fc.jsonValue(),
          )
          .map(([k, v]) => withField(f, k, v)),
      ),
    );
    fc.assert(
      fc.property(body, (b) => void parsesOrNames(() => parseFollowSettings(b))),
      runs(400),
    );
  });

  it('takes a valid body and gives back its fields, decimals normalised', () => {
    fc.assert(
      fc.property(follow, (b) => {
        const f = parseFollowSettings(b);
        const given = b.sizing as { mode: string; margin?: string; ratio?: string };
        const sizing =
          given.mode === 'fixed-amount'
            ? { mode: 'fixed-amount', margin: money(given.margin as string).toFixed() }
            : { mode: 'fixed-ratio', ratio: money(given.ratio as string).toFixed() };
        assert.deepEqual(f, {
          ...b,
          sizing,
          maxPositionValue: money(b.maxPositionValue).toFixed(),
          maxSlippage: money(b.maxSlippage).toFixed(),
        });
      }),
      runs(200),
    );
  });

  it('refuses a body with one bad field, naming it', () => {
    const nested = fc.constantFrom(
      ['account', { type: 'sub' }, 'account.subAccount'],
      ['account', { type: 'main', subAccount: 'x' }, 'account.subAccount'],
      ['account', { type: 'joint' }, 'account.type'],
      ['sizing', { mode: 'fixed-amount', margin: '0' }, 'sizing.margin'],
      ['sizing', { mode: 'fixed-ratio', margin: '1' }, 'sizing.margin'],
      ['sizing', { mode: 'martingale' }, 'sizing.mode'],
      ['instruments', ['BTC-USDT-SWAP', 'eth'], 'instruments[1]'],
      ['extra', 1, 'extra'],
    ) as fc.Arbitrary<[string, unknown, string]>;
    const mutation = fc.oneof(
      mutationOf(badFollow).map(([f, v]) => [f, v, f] as [string, unknown, string]),
      nested,
    );
    fc.assert(
      fc.property(follow, mutation, (b, [field, value, named]) => {
        const e = parsesOrNames(() => parseFollowSettings(withField(b, field, value)));
        assert.ok(e, `${field}=${JSON.stringify(value)} was taken`);
        assert.equal(e.field, named, e.message);
      }),
      runs(500),
    );
  });
});
