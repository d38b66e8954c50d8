import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CopyChange,
  copierChanged,
  decodeCopyChange,
  encodeCopyChange,
  leadChanged,
} from '../../src/copytrade/copy-changes.js';

describe('copy:changed messages', () => {
  it('say what changed, and read back as written', () => {
    const changes: CopyChange[] = [leadChanged('lead1'), copierChanged('c:with:colons'), { kind: 'all' }];
    assert.deepEqual(changes.map(encodeCopyChange), ['lead:lead1', 'copier:c:with:colons', 'all']);
    assert.deepEqual(changes.map(encodeCopyChange).map(decodeCopyChange), changes);
  });

  it('a message that announces nothing known is an error with its reason', () => {
    for (const bad of ['c001', 'lead:', 'trader:x', '', 'all:x']) {
      const r = decodeCopyChange(bad);
      assert.ok('error' in r, `${bad}: ${JSON.stringify(r)}`);
    }
  });
});
