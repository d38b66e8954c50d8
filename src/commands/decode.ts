import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Run } from '../cli.js';
import { type CdcFormat, decoderFor } from '../settlement/intake/decode/decoder.js';

/** `tradeflow decode [--format canal|debezium]`: one message per stdin line, one JSON verdict per line. */
export const run: Run = async (args, { config }) => {
  const { values } = parseArgs({ args, options: { format: { type: 'string', default: config.cdcFormat } } });
  if (values.format !== 'canal' && values.format !== 'debezium')
    throw new Error('--format: canal or debezium');
  const decode = decoderFor(values.format as CdcFormat, config);
  let line = 0;
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    process.stdout.write(`${JSON.stringify({ line, ...decode(text) })}\n`);
  }
  return 0;
};
