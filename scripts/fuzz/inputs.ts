/**
 * The generated inputs, one list per target, drawn with fast-check from one seed. Each input
 * knows its class (what kind of input it is, for counting and for recognising a crash that
 * repeats), a short description for the report, and how to send itself.
 */
import fc from 'fast-check';
import { FOLLOW_KEYS } from '../../src/copytrade/domain/settings-parse.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { buildFrame } from '../../src/copytrade/ingress/frame.js';
import { SIGNAL_FIELDS } from '../../src/copytrade/ingress/signal-schema.js';
import { frameSignature } from '../../src/copytrade/ingress/signature.js';
import { follow, signalOf } from '../../src/load/copy-world.js';
import { anyText, id, nonString, notId, notPositiveDecimal } from '../../test/support/fuzz.js';
import { http, type Result, raw, Session, upgrade } from './wire.js';
import { BOARD_TOKEN, COPIERS, LEAD, OTHER_LEAD, type Ports, type ProcName, tokenOf } from './world.js';

export type Target = 'trader-socket' | 'copier-api' | 'copier-stream' | 'bull-board' | 'ops';

export interface Ctx {
  ports: Ports;
  secrets: Map<string, { apiKey: string; secret: string }>;
  timeoutMs: number;
  /** how long raw junk is given to be answered before it counts as waiting for more */
  junkWaitMs: number;
  /** the open trader socket of LEAD, opened again when the server closed it */
  trader(): Promise<Session>;
}

export interface Input {
  target: Target;
  proc: ProcName;
  cls: string;
  show: string;
  run(ctx: Ctx): Promise<Result>;
}

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

const short = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

// ---------------------------------------------------------------- trader socket

const baseSignal = (signalId: string, traderId = LEAD): TraderSignal =>
  signalOf(traderId, { signalId, qty: '0.01', price: '60000' });

type FrameKind =
  | { k: 'text'; text: string }
  | { k: 'binary'; bytes: Uint8Array }
  | { k: 'envelope'; env: Record<string, unknown> }
  | { k: 'bad-sig'; at: number }
  | { k: 'mutated'; field: string; value: unknown }
  | { k: 'wrong-trader' }
  | { k: 'stale'; ageMs: number }
  | { k: 'huge'; size: number }
  | { k: 'valid' }
  | { k: 'upgrade'; how: 'none' | 'bad-key' | 'bad-path' | 'header-bad' | 'query-junk'; junk: string };

export const frameKind: fc.Arbitrary<FrameKind> = fc.oneof(
  { weight: 4, arbitrary: anyText.map((text) => ({ k: 'text' as const, text })) },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 600 }).map((bytes) => ({ k: 'binary' as const, bytes })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record(
        {
          ts: fc.oneof(fc.constant('now'), fc.jsonValue()),
          sig: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.jsonValue()),
          payload: fc.oneof(
            fc.jsonValue().map((v) => JSON.stringify(v)),
            fc.jsonValue(),
          ),
          extra: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map((env) => ({ k: 'envelope' as const, env })),
  },
  { weight: 2, arbitrary: fc.nat(63).map((at) => ({ k: 'bad-sig' as const, at })) },
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...SIGNAL_FIELDS, 'extra')
      .chain((field) => badValue(field).map((value) => ({ k: 'mutated' as const, field, value }))),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'wrong-trader' as const }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 10_001, max: 1e9 }).map((ageMs) => ({ k: 'stale' as const, ageMs })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.integer({ min: 4097, max: 60_000 }), fc.integer({ min: 66_000, max: 200_000 }))
      .map((size) => ({ k: 'huge' as const, size })),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'valid' as const }) },
  {
    weight: 1,
    arbitrary: fc
      .record({
        how: fc.constantFrom('none', 'bad-key', 'bad-path', 'header-bad', 'query-junk'),
        junk: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
      })
      .map((r) => ({ k: 'upgrade' as const, ...(r as { how: 'none'; junk: string }) })),
  },
);

function traderInput(f: FrameKind, n: number): Input {
  const signalId = `fz${n}`;
  const cls =
    f.k === 'mutated'
      ? `mutated:${f.field}`
      : f.k === 'upgrade'
        ? `upgrade:${f.how}`
        : f.k === 'huge'
          ? `huge:${f.size > 65_536 ? 'over-close-limit' : 'over-frame-limit'}`
          : f.k;
  const show = short(
    `${f.k} ${JSON.stringify(f, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v === undefined ? '(absent)' : v))}`,
  );
  return {
    target: 'trader-socket',
    proc: 'copy',
    cls,
    show,
    async run(ctx) {
      const lead = ctx.secrets.get(LEAD) as { apiKey: string; secret: string };
      if (f.k === 'upgrade') {
        const q = encodeURIComponent(f.junk);
        const [path, headers] = {
          none: ['/traders', {}],
          'bad-key': [`/traders?apiKey=${q || 'nope'}`, {}],
          'bad-path': [`/${q}x?apiKey=${lead.apiKey}`, {}],
          'header-bad': ['/traders', { 'x-api-key': `k${f.junk.replace(/[^\x21-\x7e]/g, '')}` }],
          'query-junk': [`/traders?${q}&apiKey=&apiKey=${lead.apiKey}x`, {}],
        }[f.how] as [string, Record<string, string>];
        const r = await upgrade(ctx.ports.ingress, path, headers, ctx.timeoutMs);
        return r.outcome === 'upgraded' ? { outcome: 'upgraded-bad-key', ok: false, detail: path } : r;
      }
      const now = Date.now();
      const s = baseSignal(signalId);
      let data: string | Uint8Array;
      let expectAck = false;
      let mayClose = false;
      switch (f.k) {
        case 'text':
          data = f.text;
          break;
        case 'binary':
          data = f.bytes;
          break;
        case 'envelope':
          data = JSON.stringify({ ...f.env, ...(f.env.ts === 'now' ? { ts: now } : {}) });
          break;
        case 'bad-sig': {
          const payload = JSON.stringify(s);
          const sig = frameSignature(lead.secret, now, payload);
          data = JSON.stringify({
            ts: now,
            sig: `${sig.slice(0, f.at)}${sig[f.at] === '0' ? '1' : '0'}${sig.slice(f.at + 1)}`,
            payload,
          });
          break;
        }
        case 'mutated': {
          const o: Record<string, unknown> = { ...s };
          if (f.value === undefined) delete o[f.field];
          else if (f.field === 'filledMs' && typeof f.value === 'string' && f.value.startsWith('future:'))
            o[f.field] = now + Number(f.value.slice(7));
          else o[f.field] = f.value;
          const payload = JSON.stringify(o);
          data = JSON.stringify({ ts: now, sig: frameSignature(lead.secret, now, payload), payload });
          break;
        }
        case 'wrong-trader':
          data = buildFrame(lead.secret, baseSignal(signalId, OTHER_LEAD), now);
          break;
        case 'stale':
          data = buildFrame(lead.secret, s, now - f.ageMs);
          break;
        case 'huge':
          data = JSON.stringify({ ts: now, sig: '0'.repeat(64), payload: 'x'.repeat(f.size) });
          mayClose = f.size > 65_536;
          break;
        case 'valid':
          data = buildFrame(lead.secret, s, now);
          expectAck = true;
          break;
      }
      const session = await ctx.trader();
      session.send(data);
      const answer = await session.next(ctx.timeoutMs);
      if (answer === 'timeout') return { outcome: 'hang', ok: false, detail: 'no answer frame' };
      if (answer === null)
        return mayClose
          ? { outcome: 'closed-over-limit', ok: true }
          : { outcome: 'closed', ok: false, detail: 'the server closed the socket' };
      if (mayClose) return { outcome: 'answered-over-limit', ok: false, detail: short(answer) };
      let frame: { type?: string; code?: string; path?: string };
      try {
        frame = JSON.parse(answer);
      } catch {
        return { outcome: 'bad-answer', ok: false, detail: short(answer) };
      }
      if (frame.type === 'ack')
        return expectAck
          ? { outcome: 'ack', ok: true }
          : { outcome: 'unexpected-ack', ok: false, detail: short(String(data)) };
      if (frame.type !== 'error') return { outcome: 'bad-answer', ok: false, detail: short(answer) };
      if (expectAck && f.k === 'valid')
        return { outcome: `refused-valid:${frame.code}`, ok: false, detail: short(answer) };
      return { outcome: `error:${frame.code}`, ok: true };
    },
  };
}

/** `undefined`: the field left out */
const absent = fc.constant(undefined);
const NON_NEGATIVE = /^\d{1,18}(\.\d{1,18})?$/;

/**
 * A value that makes the signal invalid by signal-schema.ts and frame.ts, whatever the rest:
 * "0.0" is a valid id and "0" a valid positionBefore, so each field gets values bad for it.
 */
function badValue(field: string): fc.Arbitrary<unknown> {
  switch (field) {
    case 'signalId':
      // ids starting fill- are kept for the exchange's fills (frame.ts)
      return fc.oneof(
        nonString,
        notId,
        absent,
        id.map((i) => `fill-${i}`.slice(0, 64)),
      );
    case 'traderId':
      // a well-formed id of another trader is WRONG_TRADER
      return fc.oneof(nonString, notId, absent, fc.constant(OTHER_LEAD));
    case 'instrument':
      return fc.oneof(
        nonString,
        absent,
        fc.constantFrom('', 'btc-usdt-swap', 'BTC--USDT', '-BTC', 'BTC-', 'A-B-C-D-E', 'X'.repeat(17)),
        fc.string({ minLength: 1 }).filter((t) => /[^A-Z0-9-]/.test(t)),
      );
    case 'action':
    case 'side':
      return fc.oneof(
        nonString,
        absent,
        fc.constantFrom('OPEN', 'Long', 'buy', ''),
        fc.string().filter((t) => !['open', 'close', 'long', 'short'].includes(t)),
      );
    case 'qty':
    case 'price':
      return fc.oneof(nonString, notPositiveDecimal, absent);
    case 'leverage':
      return fc.oneof(
        absent,
        fc.integer({ min: -5, max: 0 }),
        fc.integer({ min: 1001, max: 1e9 }),
        fc.double({ noNaN: true, max: 0.999 }),
        fc.double({ noNaN: true, min: 1000.001 }),
        fc.constantFrom('10', null, true, [10], {}),
      );
    case 'positionBefore':
      return fc.oneof(
        nonString,
        absent,
        notPositiveDecimal.filter((t) => !NON_NEGATIVE.test(t)),
        fc.constantFrom('-0', '1e3', '0x0', ' 0'),
      );
    case 'filledMs':
      return fc.oneof(
        absent,
        fc.constantFrom(0, -1, 1.5, 2 ** 53, 1e300, '1764000000000', null, true),
        // beyond the skew allowed into the future
        fc.integer({ min: 1e12, max: 1e15 }).map((d) => `future:${d}`),
      );
    case 'liquidation':
      // true on an open (only a close is a liquidation); false and absent are valid
      return fc.oneof(fc.constant(true), fc.integer(), fc.string(), fc.constant(null), fc.constant([]));
    default:
      // an unknown field
      return fc.jsonValue();
  }
}

// ---------------------------------------------------------------- copiers' API

const ROUTES = [
  ['PUT', '/follows/{t}'],
  ['POST', '/follows/{t}/pause'],
  ['POST', '/follows/{t}/resume'],
  ['DELETE', '/follows/{t}'],
  ['GET', '/follows'],
  ['GET', '/slices'],
  ['GET', '/orders'],
] as const;

type Token = 'valid' | 'absent' | 'bad' | 'malformed' | 'probe-like';
type Body = 'none' | 'valid-follow' | 'mutated-follow' | 'json' | 'text' | 'oversized' | 'empty';

const apiInput = fc.record({
  route: fc.nat(ROUTES.length - 1),
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constant('route') },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') },
  ),
  trader: fc.oneof(
    { weight: 3, arbitrary: fc.constant(LEAD) },
    { weight: 1, arbitrary: fc.constant(OTHER_LEAD) },
    { weight: 1, arbitrary: id },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }) },
  ),
  token: fc.constantFrom<Token>('valid', 'valid', 'absent', 'bad', 'malformed', 'probe-like'),
  copier: fc.nat(COPIERS.length - 1),
  body: fc.constantFrom<Body>(
    'none',
    'valid-follow',
    'mutated-follow',
    'mutated-follow',
    'json',
    'text',
    'oversized',
    'empty',
  ),
  mutation: fc.tuple(fc.constantFrom(...FOLLOW_KEYS, 'extra'), fc.jsonValue()),
  json: fc.jsonValue(),
  text: fc.string({ unit: 'binary', maxLength: 200 }),
  query: fc.oneof(
    fc.constant(''),
    fc.constantFrom(
      '?slices=close',
      '?slices=keep',
      '?slices=burn',
      '?limit=-1',
      '?limit=abc',
      '?limit=99999999999',
      '?limit=5',
      '?%zz',
      '?a=1&a=2&limit=&slices=',
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => `?${encodeURIComponent(s)}`),
  ),
  junkPath: fc.option(
    fc.constantFrom('/', '/follows/', '/follows/a/b/c', '/stream', '/%zz', '/orders/1', '//follows'),
    { freq: 8 },
  ),
});

/** A valid follow as the copiers' API takes it (copy-world's), as a record one field can be mutated in. */
const followBody = (copierId: string, traderId: string): Record<string, unknown> => ({
  ...follow(copierId, traderId),
});

function copierApiInput(a: ValueOf<typeof apiInput>): Input {
  const [routeMethod, template] = ROUTES[a.route] as (typeof ROUTES)[number];
  const method = a.method === 'route' ? routeMethod : a.method;
  const copierId = COPIERS[a.copier] as string;
  const trader = encodeURIComponent(a.trader);
  const path = (a.junkPath ?? template.replace('{t}', trader)) + a.query;
  const auth: Record<Token, string | undefined> = {
    valid: `Bearer ${tokenOf(copierId)}`,
    absent: undefined,
    bad: 'Bearer not-a-token',
    malformed: `Basic ${tokenOf(copierId)}`,
    'probe-like': 'Bearer token-',
  };
  let body: Buffer | undefined;
  switch (a.body) {
    case 'valid-follow':
      body = Buffer.from(JSON.stringify(followBody(copierId, a.trader)));
      break;
    case 'mutated-follow': {
      const o = followBody(copierId, a.trader);
      o[a.mutation[0]] = a.mutation[1];
      body = Buffer.from(JSON.stringify(o));
      break;
    }
    case 'json':
      body = Buffer.from(JSON.stringify(a.json));
      break;
    case 'text':
      body = Buffer.from(a.text, 'latin1');
      break;
    case 'oversized':
      body = Buffer.from(JSON.stringify({ ...followBody(copierId, a.trader), pad: 'x'.repeat(20_000) }));
      break;
    case 'empty':
      body = Buffer.alloc(0);
      break;
    case 'none':
      body = undefined;
  }
  const headers: Record<string, string> = {};
  const token = auth[a.token];
  if (token !== undefined) headers.authorization = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const routeCls = a.junkPath
    ? `junk-path`
    : `${routeMethod === method ? '' : `${method} on `}${routeMethod} ${template}`;
  return {
    target: 'copier-api',
    proc: 'copy',
    cls: `${method} ${routeCls} token=${a.token} body=${body === undefined ? 'none' : a.body}`,
    show: short(
      `${method} ${path} auth=${token ?? '(none)'} body=${body === undefined ? '(none)' : short(body.toString('latin1'), 80)}`,
    ),
    run: (ctx) => http(ctx.ports.api, { method, path, headers, body }, ctx.timeoutMs),
  };
}

// ---------------------------------------------------------------- copiers' /stream

const streamInput = fc.record({
  token: fc.constantFrom<Token>('valid', 'valid', 'absent', 'bad', 'malformed'),
  via: fc.constantFrom('query', 'header'),
  path: fc.constantFrom('/stream', '/stream', '/stream/', '/streams', '/Stream'),
  frames: fc.array(fc.oneof(anyText, fc.constant('x'.repeat(2000))), { maxLength: 3 }),
  copier: fc.nat(COPIERS.length - 1),
});

function copierStreamInput(s: ValueOf<typeof streamInput>): Input {
  const token = { valid: tokenOf(COPIERS[s.copier] as string), absent: '', bad: 'nope', malformed: ' ' }[
    s.token as 'valid'
  ];
  return {
    target: 'copier-stream',
    proc: 'copy',
    cls: `${s.path} token=${s.token} via=${s.via} frames=${s.frames.length}`,
    show: short(
      `${s.path} token=${s.token} via ${s.via}, frames ${JSON.stringify(s.frames.map((f) => short(f, 30)))}`,
    ),
    async run(ctx) {
      const expectOpen = s.token === 'valid' && s.path === '/stream';
      if (!expectOpen || s.via === 'header') {
        const headers: Record<string, string> =
          s.via === 'header' && token ? { authorization: `Bearer ${token}` } : {};
        const path = s.via === 'query' && token ? `${s.path}?token=${encodeURIComponent(token)}` : s.path;
        const r = await upgrade(ctx.ports.api, path, headers, ctx.timeoutMs);
        if (expectOpen)
          return r.outcome === 'upgraded' ? r : { ...r, ok: false, outcome: `refused-valid:${r.outcome}` };
        return r.outcome === 'upgraded' ? { outcome: 'upgraded-bad-token', ok: false, detail: path } : r;
      }
      let session: Session;
      try {
        session = await Session.open(
          `ws://127.0.0.1:${ctx.ports.api}/stream?token=${encodeURIComponent(token)}`,
          ctx.timeoutMs,
        );
      } catch (err) {
        return { outcome: 'did-not-open', ok: false, detail: (err as Error).message, refused: true };
      }
      try {
        const hello = await session.next(ctx.timeoutMs);
        if (hello === 'timeout' || hello === null || !hello.includes('"subscribed"'))
          return { outcome: 'no-subscribed', ok: false, detail: String(hello) };
        for (const f of s.frames) session.send(f);
        // frames over 1 KiB close the socket (maxPayloadLength); smaller ones are ignored
        return {
          outcome: s.frames.some((f) => Buffer.byteLength(f) > 1024)
            ? 'subscribed+closed-over-limit'
            : 'subscribed',
          ok: true,
        };
      } finally {
        session.close();
      }
    },
  };
}

// ---------------------------------------------------------------- Bull Board and ops

const boardPaths = [
  '/',
  '/api/queues',
  '/api/queues?activeQueue=x&page=-1',
  '/api/queues/{q}/retry/failed',
  '/api/queues/{q}/clean/completed',
  '/api/queues/{q}/pause',
  '/api/queues/{q}/{j}',
  '/api/queues/{q}/{j}/retry/failed',
  '/api/queues/{q}/{j}/logs',
  '/api/redis/stats',
  '/static/x.js',
  '/queue/{q}',
  '/%zz',
  '/api/queues/{q}/add',
];

const boardInput = fc.record({
  path: fc.constantFrom(...boardPaths),
  queue: fc.oneof(
    fc.constantFrom('tffuzz:retry', 'retry', 'parked', 'nope'),
    fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
  ),
  job: fc.oneof(fc.constantFrom('1', '0', '-1', 'x'), fc.string({ unit: 'grapheme-ascii', maxLength: 20 })),
  method: fc.constantFrom('GET', 'GET', 'PUT', 'POST', 'DELETE', 'PATCH'),
  auth: fc.constantFrom('bearer', 'query', 'none', 'bad-bearer', 'bad-query', 'bad-cookie', 'basic'),
  body: fc.option(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    { freq: 2 },
  ),
});

function boardHttp(b: ValueOf<typeof boardInput>): Input {
  let path = b.path.replace('{q}', encodeURIComponent(b.queue)).replace('{j}', encodeURIComponent(b.job));
  const headers: Record<string, string> = {};
  if (b.auth === 'bearer') headers.authorization = `Bearer ${BOARD_TOKEN}`;
  if (b.auth === 'bad-bearer') headers.authorization = 'Bearer nope';
  if (b.auth === 'basic') headers.authorization = 'Basic Zm9vOmJhcg==';
  if (b.auth === 'bad-cookie') headers.cookie = 'tf_board=forged';
  if (b.auth === 'query' || b.auth === 'bad-query')
    path += `${path.includes('?') ? '&' : '?'}token=${b.auth === 'query' ? BOARD_TOKEN : 'nope'}`;
  const body = b.body === null ? undefined : Buffer.from(b.body);
  if (body) headers['content-type'] = 'application/json';
  return {
    target: 'bull-board',
    proc: 'settle',
    cls: `${b.method} ${b.path} auth=${b.auth}`,
    show: short(`${b.method} ${path} auth=${b.auth} body=${b.body ?? '(none)'}`),
    run: (ctx) => http(ctx.ports.board, { method: b.method, path, headers, body }, ctx.timeoutMs),
  };
}

const opsInput = fc.record({
  path: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('/metrics', '/healthz', '/readyz') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('/', '/metrics/', '/x', '/%zz', '/healthz?x=1', `/${'a'.repeat(3000)}`),
    },
    {
      weight: 1,
      arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => `/${encodeURIComponent(s)}`),
    },
  ),
  method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'),
  body: fc.option(fc.string({ maxLength: 100 }), { freq: 3 }),
});

function opsHttp(o: ValueOf<typeof opsInput>): Input {
  const known = ['/metrics', '/healthz', '/readyz'].includes(o.path);
  return {
    target: 'ops',
    proc: 'settle',
    cls: `${o.method} ${known ? o.path : 'other-path'}`,
    show: short(`${o.method} ${o.path}`),
    async run(ctx) {
      const r = await http(
        ctx.ports.ops,
        {
          method: o.method,
          path: o.path,
          headers: {},
          body: o.body === null ? undefined : Buffer.from(o.body),
        },
        ctx.timeoutMs,
      );
      // /readyz answers 503 by design while a dependency is down: counted apart, not a defect
      if (r.status === 503 && o.path === '/readyz')
        return { outcome: '503-not-ready', ok: true, detail: r.text };
      return r;
    },
  };
}

/** Well-formed requests written by hand, with how many answers each must get. */
const WELL_FORMED: readonly [string, number][] = [
  // HTTP/1.0 is still spoken by some health checkers (HAProxy's httpchk by default)
  ['GET /nope HTTP/1.0\r\nHost: x\r\n\r\n', 1],
  ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n', 2],
  [`GET /x HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(3000)}\r\n\r\n`, 1],
  ['POST /follows/x/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', 1],
  ['HEAD /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 1],
];

/**
 * Raw bytes on the HTTP ports: junk (random bytes, or malformed heads) ended by a blank
 * line, which gets a 4xx, a close or nothing; or a well-formed request, which must be answered.
 */
const rawInput = fc.record({
  bytes: fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
          'GET / HTTP/9.9\r\n\r\n',
          `GET /${'a'.repeat(20_000)} HTTP/1.1\r\n\r\n`,
          'POST /follows/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        )
        .map((t) => new Uint8Array(Buffer.from(t))),
    },
  ),
  wellFormed: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.nat(WELL_FORMED.length - 1) },
  ),
  port: fc.constantFrom('api', 'ops', 'board', 'ingress'),
});

/** A request that any of the four ports answers (a 401 or 404 will do): the server still serves. */
const ALIVE = 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

function rawTcp(r: {
  bytes: Uint8Array;
  wellFormed: number | null;
  port: 'api' | 'ops' | 'board' | 'ingress';
}): Input {
  const target: Target =
    r.port === 'api'
      ? 'copier-api'
      : r.port === 'ingress'
        ? 'trader-socket'
        : r.port === 'board'
          ? 'bull-board'
          : 'ops';
  const [text, formed] =
    r.wellFormed === null
      ? [`${Buffer.from(r.bytes).toString('latin1')}\r\n\r\n`, 0]
      : (WELL_FORMED[r.wellFormed] as [string, number]);
  const http10 = text.includes(' HTTP/1.0\r\n');
  // the uWebSockets.js ports (traders' socket, copiers' API) speak HTTP/1.1 only: the
  // socket's upgrade must be 1.1 (RFC 6455 4.1), and the API serves /stream beside it;
  // uWS leaves a 1.0 request unanswered, so to those ports it is junk (README: put a proxy
  // in front with proxy_http_version 1.1). The ops server and Bull Board answer 1.0.
  const uws = r.port === 'ingress' || r.port === 'api';
  const answers = http10 && uws ? 0 : formed;
  const bytes = Buffer.from(text, 'latin1');
  return {
    target,
    proc: r.port === 'api' || r.port === 'ingress' ? 'copy' : 'settle',
    cls: http10 ? 'raw-http/1.0' : answers === 0 ? 'raw-junk' : 'raw-well-formed',
    show: short(`raw ${JSON.stringify(text.slice(0, 80))}`),
    async run(ctx) {
      const port = ctx.ports[r.port];
      const got = await raw(port, bytes, { answers, timeoutMs: ctx.timeoutMs, junkWaitMs: ctx.junkWaitMs });
      if (!got.waiting) return got;
      // junk left waiting: fine if the server still answers a valid request on a new connection
      const alive = await raw(port, Buffer.from(ALIVE), {
        answers: 1,
        timeoutMs: ctx.timeoutMs,
        junkWaitMs: 0,
      });
      return alive.ok
        ? got
        : { outcome: 'hang', ok: false, detail: `waiting on junk, and then not serving: ${alive.outcome}` };
    },
  };
}

/** `total` inputs over the five targets, interleaved, the same list for the same seed. */
export function generate(seed: number, total: number): Input[] {
  const share = (p: number) => Math.max(1, Math.round(total * p));
  const sample = <T>(arb: fc.Arbitrary<T>, n: number, salt: number) =>
    fc.sample(arb, { seed: seed + salt, numRuns: n });
  const lists: Input[][] = [
    sample(frameKind, share(0.38), 1).map(traderInput),
    sample(apiInput, share(0.34), 2).map(copierApiInput),
    sample(streamInput, share(0.06), 3).map(copierStreamInput),
    sample(boardInput, share(0.1), 4).map(boardHttp),
    sample(opsInput, share(0.08), 5).map(opsHttp),
    sample(rawInput, share(0.04), 6).map((r) => rawTcp(r as Parameters<typeof rawTcp>[0])),
  ];
  // interleaved by a seeded shuffle: a defect that needs one target's input after another's shows
  const all = lists.flat();
  const order = fc.sample(fc.integer(), { seed, numRuns: all.length });
  return all
    .map((x, i) => [order[i] as number, x] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, x]) => x);
}
