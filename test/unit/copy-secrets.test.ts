import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfigError, DEV_SECRET_KEY_HEX, loadConfig } from '../../src/config.js';
import {
  decryptSecret,
  encryptSecret,
  hashToken,
  SecretError,
} from '../../src/copytrade/accounts/secrets.js';

describe('credential secrets', () => {
  const key = randomBytes(32);

  it('a secret encrypted opens with its key, and is not in the ciphertext', () => {
    const secret = 'secret-lead1-0123456789 ünïcødé';
    const sealed = encryptSecret(secret, key);
    assert.equal(decryptSecret(sealed, key), secret);
    assert.ok(!sealed.includes(Buffer.from('secret-lead1')));
    // a fresh iv each time: the same secret twice is two ciphertexts
    assert.notDeepEqual(encryptSecret(secret, key), sealed);
  });

  it('another key fails with a SecretError, never a wrong secret', () => {
    const sealed = encryptSecret('s3cret', key);
    assert.throws(() => decryptSecret(sealed, randomBytes(32)), SecretError);
  });

  it('any changed byte (iv, tag or ciphertext) fails, and so does a truncated value', () => {
    const sealed = encryptSecret('s3cret', key);
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed);
      tampered[i] = (tampered[i] ?? 0) ^ 1;
      assert.throws(() => decryptSecret(tampered, key), SecretError, `byte ${i}`);
    }
    assert.throws(() => decryptSecret(sealed.subarray(0, 20), key), /too short/);
    assert.throws(() => encryptSecret('s', randomBytes(16)), /32 bytes/);
  });

  it('a token hash is stable, 32 bytes, and differs for a token one byte apart', () => {
    const h = hashToken('token-c00');
    assert.equal(h.length, 32);
    assert.deepEqual(hashToken('token-c00'), h);
    // SHA-256 of the UTF-8 bytes, pinned: rows hashed today must match after an upgrade
    assert.equal(h.toString('hex'), '304f2f5fa55b287570b953e1d0e7bd4bac0a8de298d03be18e9331b70ac99d09');
    for (const other of ['TOKEN-C00', 'token-c00 ', 'token-c01']) assert.notDeepEqual(hashToken(other), h);
  });

  it('TF_SECRET_KEY: 64 hex characters, the development default otherwise, and its value never echoed', () => {
    assert.deepEqual(loadConfig({}).secretKey, Buffer.from(DEV_SECRET_KEY_HEX, 'hex'));
    const hex = key.toString('hex');
    assert.deepEqual(loadConfig({ TF_SECRET_KEY: hex }).secretKey, key);
    for (const bad of [hex.slice(2), `${hex}00`, `${hex.slice(1)}g`]) {
      assert.throws(
        () => loadConfig({ TF_SECRET_KEY: bad }),
        (err: unknown) => err instanceof ConfigError && !err.message.includes(bad.slice(0, 16)),
      );
    }
  });
});
