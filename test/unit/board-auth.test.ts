import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  authorize,
  boardAuthFor,
  cookieValue,
  hostName,
  isLoopback,
  parseBoardAuth,
  SESSION_COOKIE,
  safeEqual,
} from '../../src/board/auth.js';
import { ConfigError } from '../../src/config.js';

const TOKEN = 'a-long-enough-secret-123';
const basicHeader = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('board auth: TF_BOARD_AUTH', () => {
  it('parses none, token and basic (a password may hold colons)', () => {
    assert.deepEqual(parseBoardAuth(''), { kind: 'none' });
    assert.deepEqual(parseBoardAuth(`token:${TOKEN}`), { kind: 'token', token: TOKEN });
    assert.deepEqual(parseBoardAuth('basic:ops:pa:ss'), { kind: 'basic', user: 'ops', password: 'pa:ss' });
  });

  it('refuses malformed values with the variable named and the secret not shown', () => {
    for (const raw of [
      'token:short',
      'token:',
      'basic:ops',
      'basic::pw',
      'basic:ops:',
      'bearer:xyz',
      'xyz',
    ]) {
      assert.throws(
        () => parseBoardAuth(raw),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.variable === 'TF_BOARD_AUTH' &&
          !err.message.includes('short') &&
          !err.message.includes('pw'),
        raw,
      );
    }
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) {
      assert.equal(isLoopback(h), true, h);
    }
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.com', '128.0.0.1']) {
      assert.equal(isLoopback(h), false, h);
    }
  });

  it('requires auth off loopback only', () => {
    assert.deepEqual(boardAuthFor('127.0.0.1', ''), { kind: 'none' });
    assert.throws(
      () => boardAuthFor('0.0.0.0', ''),
      /TF_BOARD_AUTH: required when TF_BOARD_HOST \(0\.0\.0\.0\)/,
    );
    assert.equal(boardAuthFor('0.0.0.0', `token:${TOKEN}`).kind, 'token');
  });
});

describe('board auth: requests', () => {
  const token = parseBoardAuth(`token:${TOKEN}`);
  const basic = parseBoardAuth('basic:ops:s3cret:x');

  it('without auth, lets through what asks for a loopback name only (no DNS rebinding)', () => {
    for (const host of ['127.0.0.1:9465', 'localhost:9465', 'localhost', '[::1]:9465', undefined]) {
      assert.deepEqual(authorize({ kind: 'none' }, { host }), { ok: true }, host);
    }
    for (const host of ['evil.example:9465', 'evil.example', '10.0.0.5:9465']) {
      const d = authorize({ kind: 'none' }, { host });
      assert.equal(d.ok, false, host);
      if (!d.ok) assert.equal(d.status, 403);
    }
    assert.equal(hostName('[::1]:9465'), '[::1]');
    assert.equal(hostName('localhost:9465'), 'localhost');
  });

  it('token: refuses without it, with a Bearer challenge', () => {
    const d = authorize(token, {});
    assert.equal(d.ok, false);
    if (!d.ok) {
      assert.equal(d.status, 401);
      assert.match(d.headers['www-authenticate'] ?? '', /^Bearer /);
    }
    assert.equal(authorize(token, { authorization: 'Bearer wrong' }).ok, false);
    assert.equal(authorize(token, { token: `${TOKEN}x` }).ok, false);
    assert.equal(
      authorize(token, { cookie: `${SESSION_COOKIE}=${TOKEN}` }).ok,
      false,
      'the raw secret is no cookie',
    );
  });

  it('token: a Bearer header passes; ?token= passes once and sets the session cookie that then passes', () => {
    assert.deepEqual(authorize(token, { authorization: `Bearer ${TOKEN}` }), { ok: true });
    const first = authorize(token, { token: TOKEN });
    assert.equal(first.ok, true);
    const setCookie = first.ok ? first.setCookie : undefined;
    assert.ok(setCookie, 'a session cookie is set');
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.ok(!setCookie.includes(TOKEN), 'the cookie does not carry the secret');
    const value = cookieValue(setCookie.split(';')[0], SESSION_COOKIE);
    assert.deepEqual(authorize(token, { cookie: `other=1; ${SESSION_COOKIE}=${value}` }), { ok: true });
    const other = parseBoardAuth('token:another-secret-of-16+');
    assert.equal(authorize(other, { cookie: `${SESSION_COOKIE}=${value}` }).ok, false);
  });

  it('basic: challenge without credentials; right user and password pass, anything else not', () => {
    const d = authorize(basic, {});
    assert.equal(d.ok, false);
    if (!d.ok) assert.match(d.headers['www-authenticate'] ?? '', /^Basic realm="tradeflow board"/);
    assert.deepEqual(authorize(basic, { authorization: basicHeader('ops', 's3cret:x') }), { ok: true });
    assert.equal(authorize(basic, { authorization: basicHeader('ops', 's3cret') }).ok, false);
    assert.equal(authorize(basic, { authorization: basicHeader('root', 's3cret:x') }).ok, false);
    assert.equal(authorize(basic, { authorization: 'Basic !!!' }).ok, false);
    assert.equal(authorize(basic, { authorization: `Bearer ${TOKEN}` }).ok, false);
  });

  it('compares strings of any lengths', () => {
    assert.equal(safeEqual('abc', 'abc'), true);
    assert.equal(safeEqual('abc', 'abcd'), false);
    assert.equal(safeEqual('', ''), true);
  });
});
