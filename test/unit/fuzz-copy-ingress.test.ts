import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import {
  decodeCopyEntry,
  decodeSignalEntry,
  encodeCloseOutEntry,
  encodeSignalEntry,
  type SignalEntry,
} from '../../src/copytrade/ingress/codec.js';
import { buildFrame, type FrameVerdict, readFrame } from '../../src/copytrade/ingress/frame.js';
import { checkSignal } from '../../src/copytrade/ingress/signal-schema.js';
import { frameSignature } from '../../src/copytrade/ingress/signature.js';
import {
  anyBytes,
  anyText,
  id,
  instrument,
  nonString,
  notId,
  notPositiveDecimal,
  positiveDecimal,
  runs,
} from '../support/fuzz.js';

const NOW = 1_764_000_000_000;
const AUTH = { traderId: 'trader-a', secret: 'sec-A' };
const limits = { maxBytes: 4096, maxSkewMs: 10_000 };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const read = (frame: string | Uint8Array, auth = AUTH): FrameVerdict =>
  readFrame(typeof frame === 'string' ? bytes(frame) : frame, auth, NOW, limits);

/** A verdict that is a value: the signal, or an error with a code and a message. */
function wellFormed(v: FrameVerdict): void {
  if (v.ok) return;
  assert.equal(typeof v.error.code, 'string');
  assert.ok(v.error.message.length > 0);
}

/** Valid signals of trader-a; a close never closes more than the position held. */
const signalOf = (traderId: fc.Arbitrary<string>) =>
  fc
    .record({
      signalId: id.filter((s) => !s.startsWith('fill-')),
      traderId,
      instrument,
      action: fc.constantFrom('open', 'close') as fc.Arbitrary<'open' | 'close'>,
      side: fc.constantFrom('long', 'short') as fc.Arbitrary<'long' | 'short'>,
      qty: positiveDecimal,
      price: positiveDecimal,
      leverage: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.double({ min: 1, max: 1000, noNaN: true })),
      extra: fc.constantFrom('0', '1', '0.5', '100'),
      filledMs: fc.integer({ min: 1, max: NOW + limits.maxSkewMs }),
    })
    .map(
      ({ extra, ...s }): TraderSignal => ({
        ...s,
        // a close holds at least its qty: qty + extra, written exactly
        positionBefore: s.action === 'close' ? addDecimal(s.qty, extra) : extra,
      }),
    );
const signal = signalOf(fc.constant(AUTH.traderId));

function addDecimal(a: string, b: string): string {
  const scale = (s: string) => s.split('.')[1]?.length ?? 0;
  const dp = Math.max(scale(a), scale(b));
  const units = (s: string) => BigInt(s.replace('.', '') + '0'.repeat(dp - scale(s)));
  const digits = (units(a) + units(b)).toString().padStart(dp + 1, '0');
  return dp === 0 ? digits : `${digits.slice(0, -dp)}.${digits.slice(-dp)}`;
}

/** Bad values of each signal field (undefined: the field left out). */
const badField: Record<string, fc.Arbitrary<unknown>> = {
  signalId: fc.oneof(notId, nonString, fc.constant(undefined)),
  traderId: fc.oneof(notId, nonString, fc.constant(undefined)),
  instrument: fc.oneof(fc.constantFrom('btc-usdt', '', '-BTC', 'BTC--USDT', 'A'.repeat(17)), nonString),
  action: fc.oneof(
    fc.string().filter((s) => s !== 'open' && s !== 'close'),
    nonString,
    fc.constant(undefined),
  ),
  side: fc.oneof(
    fc.string().filter((s) => s !== 'long' && s !== 'short'),
    nonString,
    fc.constant(undefined),
  ),
  qty: fc.oneof(notPositiveDecimal, nonString, fc.constant(undefined)),
  price: fc.oneof(notPositiveDecimal, nonString, fc.constant(undefined)),
  leverage: fc.oneof(
    fc.double({ max: 0.999, noNaN: true }),
    fc.double({ min: 1000.001, noNaN: true }),
    fc.string(),
    fc.constant(null),
    fc.constant(undefined),
  ),
  positionBefore: fc.oneof(fc.constantFrom('-1', '', 'abc', '1e3', '.5'), nonString, fc.constant(undefined)),
  filledMs: fc.oneof(
    fc.integer({ max: 0 }),
    fc.double({ min: 1.5, max: 1e12, noInteger: true }),
    fc.integer({ min: NOW + limits.maxSkewMs + 1, max: 2 ** 52 }),
    fc.string(),
    fc.constant(undefined),
  ),
  liquidation: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant(true)),
};
const mutation = fc
  .constantFrom(...Object.keys(badField), '(unknown)')
  .chain((f) =>
    f === '(unknown)'
      ? fc.tuple(fc.constantFrom('extra', 'qty2', '__proto__', 'constructor', 'Qty'), fc.jsonValue())
      : fc.tuple(fc.constant(f), badField[f] as fc.Arbitrary<unknown>),
  );

/** The payload text of a signal with one field replaced (or removed when `value` is undefined). */
function mutated(s: TraderSignal, field: string, value: unknown): string {
  const o: Record<string, unknown> = { ...s };
  if (value === undefined) delete o[field];
  else Object.defineProperty(o, field, { value, enumerable: true, writable: true, configurable: true });
  return JSON.stringify(o);
}

const signed = (payload: string, ts = NOW, secret = AUTH.secret) =>
  JSON.stringify({ ts, sig: frameSignature(secret, ts, payload), payload });

describe('fuzz: trader frames (readFrame)', () => {
  it('never throws on any bytes or text', () => {
    fc.assert(
      fc.property(fc.oneof(anyBytes, anyText.map(bytes)), (b) => wellFormed(read(b))),
      runs(600),
    );
  });

  it('never throws on envelopes of any shape', () => {
    const envelope = fc.record(
      {
        ts: fc.oneof(fc.constant(NOW), fc.jsonValue()),
        sig: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.jsonValue()),
        payload: fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(envelope, (e) => wellFormed(read(JSON.stringify(e)))),
      runs(400),
    );
  });

  it('never throws on correctly signed payloads of any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => wellFormed(read(signed(JSON.stringify(v))))),
      runs(400),
    );
  });

  it('takes a valid signed signal and gives back its fields', () => {
    fc.assert(
      fc.property(signal, (s) => {
        const v = read(buildFrame(AUTH.secret, s, NOW));
        assert.ok(v.ok, JSON.stringify(v));
        if (v.ok) assert.deepEqual(v.signal, s);
      }),
      runs(400),
    );
  });

  it('refuses a signal with one bad field, naming that field', () => {
    fc.assert(
      fc.property(signal, mutation, (s, [field, value]) => {
        const v = read(signed(mutated(s, field, value)));
        assert.equal(v.ok, false, `${field}=${JSON.stringify(value)} was taken`);
        if (v.ok) return;
        assert.equal(v.error.code, 'INVALID_SIGNAL', v.error.message);
        assert.equal(
          v.error.path,
          `payload.${field}`,
          `${field}=${JSON.stringify(value)}: ${v.error.message}`,
        );
      }),
      runs(800),
    );
  });

  it('refuses a frame whose sig, ts or secret is changed (BAD_SIGNATURE)', () => {
    fc.assert(
      fc.property(signal, fc.constantFrom('sig', 'ts', 'secret', 'payload'), fc.nat(63), (s, what, at) => {
        const payload = JSON.stringify(s);
        const sig = frameSignature(AUTH.secret, NOW, payload);
        const flipped = `${sig.slice(0, at)}${sig[at] === '0' ? '1' : '0'}${sig.slice(at + 1)}`;
        const frame = {
          sig: JSON.stringify({ ts: NOW, sig: flipped, payload }),
          ts: JSON.stringify({ ts: NOW - 1, sig, payload }),
          secret: signed(payload, NOW, 'another secret'),
          payload: JSON.stringify({ ts: NOW, sig, payload: `${payload} ` }),
        }[what];
        const v = read(frame);
        assert.equal(v.ok, false);
        if (!v.ok) assert.equal(v.error.code, 'BAD_SIGNATURE');
      }),
      runs(200),
    );
  });

  it("refuses another trader's signal signed with this connection's secret (WRONG_TRADER)", () => {
    fc.assert(
      fc.property(signalOf(id.filter((t) => t !== AUTH.traderId)), (s) => {
        const v = read(buildFrame(AUTH.secret, s, NOW));
        assert.equal(v.ok, false);
        if (!v.ok) assert.deepEqual([v.error.code, v.error.path], ['WRONG_TRADER', 'payload.traderId']);
      }),
      runs(200),
    );
  });

  it('refuses a frame over the limit unread, and a stale ts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4000 }),
        signal,
        fc.integer({ min: 10_001, max: 1e9 }),
        (extra, s, skew) => {
          const big = read(new Uint8Array(limits.maxBytes + extra));
          assert.ok(!big.ok && big.error.code === 'FRAME_TOO_LARGE');
          const stale = read(buildFrame(AUTH.secret, s, NOW - skew));
          assert.ok(!stale.ok && stale.error.code === 'STALE_FRAME', JSON.stringify(stale));
        },
      ),
      runs(100),
    );
  });
});

describe('fuzz: signal schema (checkSignal)', () => {
  it('never throws on any value, and an accepted value has only the known fields', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), signal as fc.Arbitrary<unknown>), (v) => {
        const c = checkSignal(v);
        if (!c.ok) assert.equal(c.error.code, 'INVALID_SIGNAL');
      }),
      runs(400),
    );
  });
});

describe('fuzz: stream codec', () => {
  const entry: fc.Arbitrary<SignalEntry> = fc
    .record({
      signal: signalOf(id),
      liquidation: fc.boolean(),
      receivedMs: fc.integer({ min: 0, max: 2 ** 52 }),
      source: fc.constantFrom('ws', 'fill') as fc.Arbitrary<'ws' | 'fill'>,
    })
    .map(({ signal: s, liquidation, ...rest }) => ({
      ...rest,
      signal: liquidation && s.action === 'close' ? { ...s, liquidation: true } : s,
    }));

  it('decodes what it encodes (signals)', () => {
    fc.assert(
      fc.property(entry, (e) => {
        assert.deepEqual(decodeSignalEntry(encodeSignalEntry(e)), e);
        assert.deepEqual(decodeCopyEntry(encodeSignalEntry(e)), e);
      }),
      runs(400),
    );
  });

  it('decodes what it encodes (close-outs)', () => {
    const closeOut = fc
      .record({ requestId: id, copierId: id, traderId: id, requestedMs: fc.maxSafeInteger() })
      .map((r) => ({ ...r }));
    fc.assert(
      fc.property(closeOut, (r) =>
        assert.deepEqual(decodeCopyEntry(encodeCloseOutEntry(r)), { closeOut: r }),
      ),
      runs(200),
    );
  });

  it('never throws on any fields, and an entry it cannot read gives its reason', () => {
    const fields = fc.oneof(
      fc.array(fc.string(), { maxLength: 4 }),
      fc.tuple(fc.constantFrom('m', 'c'), anyText),
      fc.tuple(
        fc.constantFrom('m', 'c'),
        fc.array(fc.jsonValue(), { maxLength: 14 }).map((a) => JSON.stringify(a)),
      ),
    );
    fc.assert(
      fc.property(fields, (f) => {
        const d = decodeCopyEntry(f);
        if ('error' in d) assert.ok(d.error.length > 0);
      }),
      runs(600),
    );
  });

  it('refuses an entry with one field changed to a bad value, naming it', () => {
    const at = fc.constantFrom(...Object.keys(badField).filter((f) => f !== 'liquidation'));
    fc.assert(
      fc.property(entry, at, fc.jsonValue(), (e, field, junk) => {
        fc.pre(junk !== null && typeof junk === 'object');
        const m = JSON.parse(encodeSignalEntry(e)[1] as string) as unknown[];
        const i = Object.keys(badField).indexOf(field);
        m[i] = junk;
        const d = decodeSignalEntry(['m', JSON.stringify(m)]);
        assert.ok('error' in d);
        if ('error' in d) assert.ok(d.error.startsWith(`${field}:`), d.error);
      }),
      runs(300),
    );
  });
});
