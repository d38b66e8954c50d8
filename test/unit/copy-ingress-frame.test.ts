import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import {
  ackFrame,
  buildFrame,
  errorFrame,
  type FrameVerdict,
  readFrame,
} from '../../src/copytrade/ingress/frame.js';
import { checkSignal } from '../../src/copytrade/ingress/signal-schema.js';
import { frameSignature, verifyFrameSignature } from '../../src/copytrade/ingress/signature.js';

const NOW = 1_764_000_000_000;
const A = { traderId: 'trader-a', secret: 'sec-A' };
const B = { traderId: 'trader-b', secret: 'sec-B' };
const limits = { maxBytes: 2048, maxSkewMs: 10_000 };

const signal = (over: Partial<Record<keyof TraderSignal, unknown>> = {}): TraderSignal =>
  ({
    signalId: 's-1',
    traderId: A.traderId,
    instrument: 'BTC-USDT-SWAP',
    action: 'open',
    side: 'long',
    qty: '2.5',
    price: '64000.1',
    leverage: 10,
    positionBefore: '0',
    filledMs: NOW - 5,
    ...over,
  }) as TraderSignal;

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const read = (frame: string, auth = A, now = NOW): FrameVerdict => readFrame(bytes(frame), auth, now, limits);

function refused(v: FrameVerdict, code: string, path?: string): { signalId?: string } {
  assert.equal(v.ok, false, 'expected the frame to be refused');
  if (v.ok) throw new Error('unreachable');
  assert.equal(v.error.code, code, v.error.message);
  assert.equal(v.error.path, path);
  return v;
}

/** A frame whose payload is `payload` verbatim (not necessarily a valid signal), signed by `secret`. */
const signedRaw = (payload: string, secret = A.secret, ts = NOW): string =>
  JSON.stringify({ ts, sig: frameSignature(secret, ts, payload), payload });

describe('copy ingress: frame signature', () => {
  it('is HMAC-SHA256 over ts + "." + payload, in lowercase hex (a known vector, from openssl)', () => {
    const sig = frameSignature('sec-A', NOW, '{"signalId":"s1"}');
    assert.equal(sig, '4a54b03c1c20ab57a42c256b49dae87d16219b5fbf77b968afe217f02cecdd60');
    assert.ok(verifyFrameSignature('sec-A', NOW, '{"signalId":"s1"}', sig));
    assert.ok(!verifyFrameSignature('sec-B', NOW, '{"signalId":"s1"}', sig));
    assert.ok(!verifyFrameSignature('sec-A', NOW + 1, '{"signalId":"s1"}', sig));
    assert.ok(!verifyFrameSignature('sec-A', NOW, '{"signalId":"s2"}', sig));
    assert.ok(!verifyFrameSignature('sec-A', NOW, '{"signalId":"s1"}', sig.toUpperCase()));
    assert.ok(!verifyFrameSignature('sec-A', NOW, '{"signalId":"s1"}', sig.slice(2)));
  });

  it('accepts a frame signed by the connection’s trader', () => {
    const v = read(buildFrame(A.secret, signal(), NOW));
    assert.deepEqual(v, { ok: true, signal: signal() });
  });

  it('covers the exact payload bytes: any other spacing or order of the same signal does not verify', () => {
    const payload = JSON.stringify(signal());
    const sig = frameSignature(A.secret, NOW, payload);
    const respaced = JSON.stringify(signal(), null, 1);
    refused(read(JSON.stringify({ ts: NOW, sig, payload: respaced })), 'BAD_SIGNATURE');
    // the frame may escape the payload any way JSON allows (here every character as \uXXXX):
    // what is signed is the decoded string
    const escaped = `{"ts":${NOW},"sig":"${sig}","payload":"${[...payload].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"}`;
    assert.equal(read(escaped).ok, true);
  });

  it('refuses a bad signature, a tampered payload or ts, and names the signal', () => {
    const good = JSON.parse(buildFrame(A.secret, signal(), NOW)) as {
      ts: number;
      sig: string;
      payload: string;
    };
    assert.equal(refused(read(buildFrame('not-the-secret', signal(), NOW)), 'BAD_SIGNATURE').signalId, 's-1');
    const tampered = { ...good, payload: good.payload.replace('"2.5"', '"25"') };
    refused(read(JSON.stringify(tampered)), 'BAD_SIGNATURE');
    refused(read(JSON.stringify({ ...good, ts: NOW + 1 })), 'BAD_SIGNATURE');
  });
});

describe('copy ingress: frame for another trader', () => {
  it('a frame signed by A for trader B, on A’s connection, is refused WRONG_TRADER', () => {
    const v = read(buildFrame(A.secret, signal({ traderId: B.traderId }), NOW), A);
    assert.equal(refused(v, 'WRONG_TRADER', 'payload.traderId').signalId, 's-1');
  });

  it('a frame signed with B’s secret on A’s connection does not verify', () => {
    refused(read(buildFrame(B.secret, signal({ traderId: B.traderId }), NOW), A), 'BAD_SIGNATURE');
  });

  it('B’s own frame on B’s connection is accepted', () => {
    assert.equal(read(buildFrame(B.secret, signal({ traderId: B.traderId }), NOW), B).ok, true);
  });
});

describe('copy ingress: clock skew', () => {
  it('accepts ts up to maxSkewMs either way, refuses beyond', () => {
    assert.equal(read(buildFrame(A.secret, signal(), NOW - 10_000)).ok, true);
    assert.equal(read(buildFrame(A.secret, signal(), NOW + 10_000)).ok, true);
    assert.equal(
      refused(read(buildFrame(A.secret, signal(), NOW - 10_001)), 'STALE_FRAME', 'ts').signalId,
      's-1',
    );
    refused(read(buildFrame(A.secret, signal(), NOW + 10_001)), 'STALE_FRAME', 'ts');
  });

  it('refuses a signal filled in the future (beyond the skew)', () => {
    refused(
      read(buildFrame(A.secret, signal({ filledMs: NOW + 10_001 }), NOW)),
      'INVALID_SIGNAL',
      'payload.filledMs',
    );
  });
});

describe('copy ingress: frame validation', () => {
  it('checks the size before parsing', () => {
    const big = `{${'x'.repeat(limits.maxBytes)}`; // not JSON either: the size decides first
    refused(read(big), 'FRAME_TOO_LARGE');
    // the limit is in bytes, not characters
    const multibyte = signedRaw(JSON.stringify({ note: 'é'.repeat(1100) }));
    assert.ok(multibyte.length < limits.maxBytes && bytes(multibyte).byteLength > limits.maxBytes);
    refused(read(multibyte), 'FRAME_TOO_LARGE');
  });

  it('refuses what is not JSON, and a malformed envelope with the field at fault', () => {
    refused(read('{"ts":1,'), 'BAD_JSON');
    refused(read(''), 'BAD_JSON');
    refused(read('[1,2]'), 'BAD_FRAME');
    refused(read('null'), 'BAD_FRAME');
    const good = JSON.parse(buildFrame(A.secret, signal(), NOW)) as Record<string, unknown>;
    const edit = (over: Record<string, unknown>) => read(JSON.stringify({ ...good, ...over }));
    refused(edit({ apiKey: 'k' }), 'BAD_FRAME', 'apiKey');
    refused(edit({ ts: '1764000000000' }), 'BAD_FRAME', 'ts');
    refused(edit({ ts: 1.5 }), 'BAD_FRAME', 'ts');
    refused(edit({ ts: undefined }), 'BAD_FRAME', 'ts');
    refused(edit({ sig: 'abc' }), 'BAD_FRAME', 'sig');
    refused(edit({ sig: String(good.sig).toUpperCase() }), 'BAD_FRAME', 'sig');
    refused(edit({ payload: signal() }), 'BAD_FRAME', 'payload');
  });

  it('refuses a signed payload that is not JSON', () => {
    refused(read(signedRaw('{"signalId":')), 'BAD_JSON', 'payload');
  });

  it('refuses schema errors with the field path, and names the signal when it can', () => {
    const cases: [Partial<Record<keyof TraderSignal, unknown>> | Record<string, unknown>, string][] = [
      [{ signalId: '' }, 'payload.signalId'],
      [{ signalId: 'a:b' }, 'payload.signalId'],
      [{ signalId: 'x'.repeat(65) }, 'payload.signalId'],
      [{ signalId: 'fill-123' }, 'payload.signalId'],
      [{ traderId: 7 }, 'payload.traderId'],
      [{ instrument: 'btc-usdt' }, 'payload.instrument'],
      [{ action: 'buy' }, 'payload.action'],
      [{ side: 'both' }, 'payload.side'],
      [{ qty: 2.5 }, 'payload.qty'],
      [{ qty: '0' }, 'payload.qty'],
      [{ qty: '1e3' }, 'payload.qty'],
      [{ qty: '-1' }, 'payload.qty'],
      [{ price: '' }, 'payload.price'],
      [{ leverage: 0 }, 'payload.leverage'],
      [{ leverage: '10' }, 'payload.leverage'],
      [{ leverage: 1001 }, 'payload.leverage'],
      [{ positionBefore: '-1' }, 'payload.positionBefore'],
      [{ action: 'close', qty: '3', positionBefore: '2.5' }, 'payload.positionBefore'],
      [{ filledMs: '1764000000000' }, 'payload.filledMs'],
      [{ filledMs: 0 }, 'payload.filledMs'],
      [{ quantity: '1' }, 'payload.quantity'],
    ];
    for (const [over, path] of cases) {
      const v = read(buildFrame(A.secret, signal(over), NOW));
      const r = refused(v, 'INVALID_SIGNAL', path);
      if (typeof (over as { signalId?: unknown }).signalId !== 'string' || path !== 'payload.signalId') {
        assert.equal(r.signalId, 's-1', `signal id echoed for ${path}`);
      }
    }
    // a missing field
    const { qty: _qty, ...noQty } = signal();
    refused(read(signedRaw(JSON.stringify(noQty))), 'INVALID_SIGNAL', 'payload.qty');
    refused(read(signedRaw('[]')), 'INVALID_SIGNAL', 'payload');
  });

  it('keeps exactly the prefix fill- for fills: FILL-1 and Fill-1 are ordinary frame ids', () => {
    for (const id of ['fill-1', 'fill-', 'fill-fill-1']) {
      const v = refused(
        read(buildFrame(A.secret, signal({ signalId: id }), NOW)),
        'INVALID_SIGNAL',
        'payload.signalId',
      );
      assert.equal(v.signalId, id);
    }
    for (const id of ['FILL-1', 'Fill-1', 'fILL-1', 'fill1', 'fill_1', 'xfill-1', 'a.fill-1']) {
      assert.deepEqual(read(buildFrame(A.secret, signal({ signalId: id }), NOW)), {
        ok: true,
        signal: signal({ signalId: id }),
      });
    }
  });

  it('accepts a close of the whole position, and decimal strings of every shape the schema allows', () => {
    assert.equal(
      read(buildFrame(A.secret, signal({ action: 'close', qty: '2.5', positionBefore: '2.50' }), NOW)).ok,
      true,
    );
    assert.equal(
      read(buildFrame(A.secret, signal({ qty: '0.000000000000000001', leverage: 2.5 }), NOW)).ok,
      true,
    );
  });
});

describe('copy ingress: server frames', () => {
  it('ack and error', () => {
    assert.deepEqual(JSON.parse(ackFrame('s-1', NOW, true)), {
      type: 'ack',
      signalId: 's-1',
      receivedMs: NOW,
      duplicate: true,
    });
    assert.deepEqual(JSON.parse(errorFrame({ code: 'BAD_JSON', message: 'm' })), {
      type: 'error',
      code: 'BAD_JSON',
      message: 'm',
    });
    assert.deepEqual(
      JSON.parse(errorFrame({ code: 'WRONG_TRADER', message: 'm', path: 'payload.traderId' }, 's')),
      {
        type: 'error',
        code: 'WRONG_TRADER',
        message: 'm',
        path: 'payload.traderId',
        signalId: 's',
      },
    );
  });

  it('checkSignal without a prefix names bare fields', () => {
    const r = checkSignal({ ...signal(), qty: 'x' });
    assert.deepEqual(r, {
      ok: false,
      error: { code: 'INVALID_SIGNAL', message: 'expected a positive decimal string', path: 'qty' },
    });
  });
});
