import type { SettlementSettings } from '../../../config.js';
import { decodeCanal } from './canal.js';
import { decodeDebezium } from './debezium.js';
import type { Decoded, DecodeTarget } from './decoded.js';

export type CdcFormat = 'canal' | 'debezium';

/** The decoder of the configured change-data format, bound to the counter's table. */
export function decoderFor(
  format: CdcFormat,
  config: SettlementSettings,
): (raw: string | Buffer | null) => Decoded {
  const target: DecodeTarget = {
    database: config.counterDb,
    table: 'sync_order',
    shards: config.shards,
    maxBytes: config.cdcMaxBytes,
  };
  return format === 'canal'
    ? (raw) => (raw === null ? { kind: 'dead', reason: 'null message' } : decodeCanal(raw, target))
    : (raw) => decodeDebezium(raw, target);
}
