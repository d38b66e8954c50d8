import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config', () => {
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
  it('refuses settings that would make live work look dead', () => {
    assert.throws(
      () => loadConfig({ TF_CLAIM_IDLE_MS: '1000', TF_HTTP_TIMEOUT_MS: '2000' }),
      /TF_CLAIM_IDLE_MS: must exceed/,
    );
    assert.throws(() => loadConfig({ TF_RECOVERY_IDLE_MS: '5000' }), /TF_RECOVERY_IDLE_MS: must exceed/);
    assert.equal(loadConfig({ TF_CLAIM_IDLE_MS: '1000', TF_HTTP_TIMEOUT_MS: '500' }).claimIdleMs, 1000);
  });
});
