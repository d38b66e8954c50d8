// `npm run demo:kafka`: the demo's settlement run through the production intake path, all on
// this machine: `tradeflow load`'s rows committed into a counter MariaDB with a ROW binlog,
// Canal 1.1.4 (flat messages, partitioned by shard) into Kafka 4.4.0, the engine with
// TF_SOURCE=kafka. Prints the demo's summary with the intake latency per source.
import { spawn } from 'node:child_process';
import { startCdcChain } from '../test/infra/cdc-chain.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const started = Date.now();
say('starting Kafka 4.4.0 (KRaft), a counter MariaDB with binlog, and Canal 1.1.4 ...');
const chain = await startCdcChain();
say(
  `chain up in ${Date.now() - started} ms: counter ${chain.counter.url}/${chain.env.TF_COUNTER_DB} → Canal → Kafka ${chain.kafka.brokers.join(',')} topic ${chain.topic}`,
);
const env = { ...process.env, ...chain.env, TF_SOURCE: 'kafka' };
const cli = (args: string[]) =>
  new Promise<number>((resolve) => {
    const c = spawn(process.execPath, ['dist/cli.js', ...args], { env, stdio: 'inherit' });
    c.once('exit', (code) => resolve(code ?? 1));
  });
let code = 1;
try {
  code = await cli(['migrate']);
  if (code === 0) code = await cli(['demo', '--settlement-only', ...process.argv.slice(2)]);
} finally {
  await chain.stop();
}
process.exit(code);
