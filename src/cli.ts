#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './infra/log.js';
import { installProcessGuard } from './infra/process-guard.js';

/**
 * One entry point: `tradeflow <command>`. Each command lives in src/commands/ and is
 * loaded only when asked for, so `tradeflow sim` does not load the engine and vice versa.
 * A command that `serves` (runs until stopped) gets the process guard: the one policy for
 * unhandled rejections and uncaught exceptions (src/infra/process-guard.ts).
 */
const commands: Record<string, { about: string; serves?: true; load: () => Promise<{ run: Run }> }> = {
  migrate: {
    about: "create and migrate the engine's and the counter's databases",
    load: () => import('./commands/migrate.js'),
  },
  sim: {
    serves: true,
    about: 'run the simulated counter, funding and trade services',
    load: () => import('./commands/sim.js'),
  },
  start: {
    serves: true,
    about: 'run the settlement engine (intake, step workers, retries, recovery) [--board]',
    load: () => import('./commands/start.js'),
  },
  copy: {
    serves: true,
    about:
      'run the copy-trading engine (signal ingress, fan-out to copiers) | drift [--json]: what drift repair could not repair',
    load: () => import('./commands/copy.js'),
  },
  operator: {
    serves: true,
    about:
      'serve the operator API (users, credentials, leads, profit share) on TF_OPERATOR_HOST:TF_OPERATOR_PORT',
    load: () => import('./commands/operator.js'),
  },
  users: {
    about:
      'users and credentials: register <userId> [--account main|sub:NAME] [--margin single|multi|portfolio] | show | rotate-token <userId> | rotate-lead-credentials <traderId> [--json]',
    load: () => import('./commands/users.js'),
  },
  load: {
    about:
      'write orders into the counter table: --orders N [--rate R] [--flow open|close|mixed] [--other-biz F]',
    load: () => import('./commands/load.js'),
  },
  orders: {
    about: 'orders by status: [--summary] [--json] | --status running|done|manual [--limit N] [--json]',
    load: () => import('./commands/orders.js'),
  },
  retry: {
    about: 'redrive a MANUAL order from its failed step: retry <orderId>',
    load: () => import('./commands/retry.js'),
  },
  board: {
    serves: true,
    about: 'serve Bull Board for the retry and parked queues',
    load: () => import('./commands/board.js'),
  },
  'profit-share': {
    about: 'profit share: settle (--now | --cutoff ISO) [--json] | show --copier C --trader T [--json]',
    load: () => import('./commands/profit-share.js'),
  },
  ledger: {
    about: "check the simulators' ledger: --check [--json] [--prefix P]",
    load: () => import('./commands/ledger.js'),
  },
  demo: {
    about: 'start sim and engine, settle a few hundred orders, print a summary (run migrate first)',
    load: () => import('./commands/demo.js'),
  },
  decode: {
    about: 'decode counter change messages from stdin, one per line: [--format canal|debezium]',
    load: () => import('./commands/decode.js'),
  },
  leaderboard: {
    about: 'the lead traders ranked: [--metric M] [--window 7d|30d|90d] [--limit N] [--json] [--rebuild]',
    load: () => import('./commands/leaderboard.js'),
  },
  leads: {
    about:
      'lead applications and reviews: list [--applications [--status S]] | show <id> | approve|reject <applicationId> | suspend|resume <traderId> --reason "..." | levels [--json]',
    load: () => import('./commands/leads.js'),
  },
  config: { about: 'print the settings table (Markdown)', load: () => import('./commands/config.js') },
};

export type Run = (
  args: string[],
  ctx: { config: ReturnType<typeof loadConfig>; log: ReturnType<typeof createLogger> },
) => Promise<number | undefined>;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    const width = Math.max(...Object.keys(commands).map((k) => k.length));
    process.stderr.write(
      `usage: tradeflow <command>\n\n${Object.entries(commands)
        .map(([k, c]) => `  ${k.padEnd(width)}  ${c.about}`)
        .join('\n')}\n`,
    );
    return name === undefined || name === '--help' || name === 'help' ? 0 : 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tradeflow: bad setting ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config.logLevel, `tradeflow-${name}`);
  if (command.serves) installProcessGuard(log);
  const { run } = await command.load();
  return (await run(args, { config, log })) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`tradeflow: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
