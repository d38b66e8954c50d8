import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, copySettings, loadConfig, settlementSettings } from '../../src/config.js';

describe('config', () => {
  it('gives each engine only its own settings, with the values loaded', () => {
    const c = loadConfig({ TF_SHARDS: '32', TF_COPY_BATCH_SIZE: '100' });
    const settle = settlementSettings(c);
    const copy = copySettings(c);
    assert.equal(settle.shards, 32);
    assert.equal(copy.copyBatchSize, 100);
    assert.equal(settle.redisPrefix, c.redisPrefix);
    assert.equal(copy.redisPrefix, c.redisPrefix);
    for (const k of ['copyBatchSize', 'secretKey', 'leadLevels', 'boardAuth', 'drainTimeoutMs', 'simPort']) {
      assert.ok(!(k in settle), `settlement is given ${k}`);
    }
    for (const k of ['shards', 'kafkaBrokers', 'opsPort', 'coordinatorTtlMs', 'operatorToken', 'simPort']) {
      assert.ok(!(k in copy), `the copy engine is given ${k}`);
    }
    assert.ok(Object.isFrozen(settle) && Object.isFrozen(copy));
  });
  it('runs on one machine with no settings at all', () => {
    const c = loadConfig({});
    assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(c.pollIntervalMs, 100);
    assert.equal(c.shards, 16);
    assert.ok(Object.isFrozen(c));
  });
  it('stops on a bad value, naming the variable', () => {
    assert.throws(
      () => loadConfig({ TF_POLL_INTERVAL_MS: 'soon' }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.variable, 'TF_POLL_INTERVAL_MS');
        return true;
      },
    );
    assert.throws(() => loadConfig({ TF_SHARDS: '0' }), /TF_SHARDS: expected 1\.\.1024/);
    assert.throws(() => loadConfig({ TF_REDIS_URL: 'http://x' }), /TF_REDIS_URL/);
    assert.throws(() => loadConfig({ TF_ENGINE_DB: 'drop table;' }), /TF_ENGINE_DB/);
  });
  it('takes a Redis Cluster by its seed nodes, with a hash-tag prefix only', () => {
    const seeds = 'redis-cluster://127.0.0.1:7000,10.0.0.2:7001';
    assert.equal(loadConfig({ TF_REDIS_URL: seeds, TF_REDIS_PREFIX: '{tf}' }).redisUrl, seeds);
    assert.throws(
      () => loadConfig({ TF_REDIS_URL: seeds, TF_REDIS_PREFIX: 'tf' }),
      (e: unknown) => e instanceof ConfigError && /TF_REDIS_PREFIX.*hash tag, \{tf\}/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ TF_REDIS_URL: 'redis-cluster://127.0.0.1', TF_REDIS_PREFIX: '{tf}' }),
      (e: unknown) => e instanceof ConfigError && /TF_REDIS_URL.*host:port/.test(e.message),
    );
    for (const bad of ['{tf', 'tf}', '{t:f}', '{}']) {
      assert.throws(() => loadConfig({ TF_REDIS_PREFIX: bad }), ConfigError, bad);
    }
    // a hash tag on one server is allowed too (the same keys as on a cluster)
    assert.equal(loadConfig({ TF_REDIS_PREFIX: '{tf}' }).redisPrefix, '{tf}');
  });

  it('refuses settings that would make live work look dead', () => {
    assert.throws(
      () => loadConfig({ TF_CLAIM_IDLE_MS: '1000', TF_HTTP_TIMEOUT_MS: '2000' }),
      /TF_CLAIM_IDLE_MS: must exceed/,
    );
    assert.throws(() => loadConfig({ TF_RECOVERY_IDLE_MS: '5000' }), /TF_RECOVERY_IDLE_MS: must exceed/);
    assert.equal(loadConfig({ TF_CLAIM_IDLE_MS: '1000', TF_HTTP_TIMEOUT_MS: '500' }).claimIdleMs, 1000);
  });
});
