import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  afterCursor,
  CursorError,
  decodeCursor,
  encodeCursor,
  type NoticePosition,
  type NoticeSource,
  newestFirst,
} from '../../src/copytrade/domain/notice-cursor.js';
import { SettingsError } from '../../src/copytrade/domain/settings-error.js';
import { accountIdOf, parseRegistration, registrationBody } from '../../src/copytrade/domain/user.js';

const position = fc
  .record({
    createdMs: fc.integer({ min: 0, max: 2 ** 45 }),
    source: fc.constantFrom<NoticeSource>('notice', 'copy', 'skip'),
    key: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 }),
  })
  .map((p) => ({ ...p, key: p.source === 'notice' ? String(p.key.charCodeAt(0) * 7919) : p.key }));

/** what afterCursor lets through, as the SQL applies it */
const passes = (p: NoticePosition, cursor: NoticePosition): boolean => {
  const a = afterCursor(p.source, cursor);
  if (p.createdMs < a.olderThan) return true;
  if (p.createdMs > a.olderThan) return false;
  if (a.sameMs === 'all') return true;
  if (a.sameMs === 'none') return false;
  return p.source === 'notice' ? BigInt(p.key) < BigInt(a.sameMs.keyBelow) : p.key < a.sameMs.keyBelow;
};

describe('notice cursor', () => {
  it('round-trips, and refuses what it did not make', () => {
    fc.assert(
      fc.property(position, (p) => {
        assert.deepEqual(decodeCursor(encodeCursor(p)), p);
      }),
    );
    for (const bad of [
      '',
      'a b',
      Buffer.from('x:1:k').toString('base64url'),
      Buffer.from('5:3:k').toString('base64url'),
      Buffer.from('5:2:abc').toString('base64url'),
    ]) {
      assert.throws(() => decodeCursor(bad), CursorError, bad);
    }
  });

  it('a notice ranks before a copy before a skip of the same ms; notice ids compare as numbers', () => {
    const at = (source: NoticeSource, key: string): NoticePosition => ({ createdMs: 5, source, key });
    const sorted = [
      at('skip', 'a'),
      at('notice', '9'),
      at('copy', 'b'),
      at('notice', '10'),
      { ...at('skip', 'z'), createdMs: 6 },
    ].sort(newestFirst);
    assert.deepEqual(
      sorted.map((p) => `${p.createdMs}${p.source}${p.key}`),
      ['6skipz', '5notice10', '5notice9', '5copyb', '5skipa'],
    );
  });

  it('what comes after a cursor is exactly what the order puts after it', () => {
    fc.assert(
      fc.property(fc.array(position, { minLength: 1, maxLength: 40 }), fc.nat(), (all, i) => {
        const unique = [...new Map(all.map((p) => [`${p.createdMs}|${p.source}|${p.key}`, p])).values()];
        const sorted = [...unique].sort(newestFirst);
        const cursor = sorted[i % sorted.length] as NoticePosition;
        const after = sorted.filter((p) => passes(p, cursor));
        assert.deepEqual(after, sorted.slice(sorted.indexOf(cursor) + 1));
      }),
    );
  });
});

describe('user registration', () => {
  it('main by default, single-currency by default; a sub account is {user}/{name}', () => {
    const main = parseRegistration({ userId: 'u1' });
    assert.deepEqual(main, { userId: 'u1', account: { type: 'main' }, marginKind: 'single-currency' });
    assert.equal(accountIdOf(main), 'u1');
    const sub = parseRegistration(registrationBody('u1', 'sub:bot', 'multi'));
    assert.equal(accountIdOf(sub), 'u1/bot');
    assert.equal(sub.marginKind, 'multi-currency');
  });

  it('refuses bad ids, unknown fields, bad kinds and accounts too long, naming the field', () => {
    const cases: [unknown, string][] = [
      [{ userId: 'a:b' }, 'userId'],
      [{ userId: 'x'.repeat(65) }, 'userId'],
      [{ userId: 'u', margin: 'x' }, 'margin'],
      [{ userId: 'u', marginKind: 'cross' }, 'marginKind'],
      [{ userId: 'u', account: { type: 'sub', subAccount: 'a/b' } }, 'account.subAccount'],
      [{ userId: 'u', account: { type: 'main', subAccount: 'x' } }, 'account.subAccount'],
      [{ userId: 'u'.repeat(60), account: { type: 'sub', subAccount: 'abcd' } }, 'account.subAccount'],
      [[], ''],
    ];
    for (const [body, field] of cases) {
      assert.throws(
        () => parseRegistration(body),
        (err: unknown) => err instanceof SettingsError && err.field === field,
        JSON.stringify(body),
      );
    }
    assert.throws(() => registrationBody('u', 'subx', 'single'), SettingsError);
  });
});
