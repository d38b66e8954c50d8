import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('tradeflow decode', () => {
  it('prints one verdict per input line and goes on past bad ones', () => {
    const insert = JSON.stringify({
      data: [
        {
          id: '5',
          order_id: 'o-5',
          shard: '2',
          user_id: 'u1',
          biz_type: 'OPTION_SWAP',
          flow: 'OPEN',
          asset: 'BTC',
          qty: '0.1',
          usdt: '180',
          created_ms: '1764000000000',
        },
      ],
      database: 'tradeflow_counter',
      es: 1764000000000,
      id: 1,
      isDdl: false,
      table: 'sync_order',
      ts: 1764000000001,
      type: 'INSERT',
    });
    const out = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'decode', '--format', 'canal'],
      {
        cwd: root,
        input: `${insert}\nnot json\n${insert}\n`,
        encoding: 'utf8',
        env: { ...process.env, TF_LOG_LEVEL: 'silent' },
      },
    );
    assert.equal(out.status, 0, out.stderr);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.line, l.kind, l.orders?.[0]?.orderId ?? l.reason.slice(0, 8)]),
      [
        [1, 'decoded', 'o-5'],
        [2, 'dead', 'not JSON'],
        [3, 'decoded', 'o-5'],
      ],
    );
  });
});
