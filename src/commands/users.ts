import { parseArgs } from 'node:util';
import type { Run } from '../cli.js';
import {
  registerUser,
  rotateCopierToken,
  rotateLeadCredentials,
  showUser,
  type UserStore,
} from '../copytrade/accounts/users.js';
import { copyChangePublisher } from '../copytrade/copy-changes.js';
import { SettingsError } from '../copytrade/domain/settings-error.js';
import { registrationBody } from '../copytrade/domain/user.js';
import { HttpError } from '../infra/http.js';
import { createPool } from '../infra/mysql/client.js';
import { createRedis } from '../infra/redis.js';

const USAGE = `usage:
  tradeflow users register <userId> [--account main|sub:<name>] [--margin single|multi|portfolio] [--json]
  tradeflow users show <userId> [--json]
  tradeflow users rotate-token <userId> [--json]
  tradeflow users rotate-lead-credentials <traderId> [--key-only|--secret-only] [--json]
`;

/** Bad input: the message and exit 2. */
class Usage extends Error {}

/**
 * Users and credentials from the command line, as the operator API does them (users.ts):
 * a token or secret is printed once; MySQL keeps a hash or a ciphertext.
 */
export const run: Run = async (args, { config }) => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    process.stderr.write(`tradeflow users: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const redis = createRedis(config.redisUrl, { name: 'tf-users' });
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
  const store: UserStore = {
    db: pool,
    publish: copyChangePublisher(redis, config.redisPrefix),
    secretKey: config.secretKey,
  };
  try {
    const result = await perform(store, parsed);
    process.stdout.write(
      parsed.json ? `${JSON.stringify(result)}\n` : text(parsed.action, result as Record<string, unknown>),
    );
    return 0;
  } catch (err) {
    if (err instanceof HttpError && err.status < 500) {
      process.stderr.write(`tradeflow users: ${err.code}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof SettingsError) {
      process.stderr.write(`tradeflow users: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    redis.disconnect();
    await pool.end();
  }
};

function parse(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      account: { type: 'string', default: 'main' },
      margin: { type: 'string', default: 'single' },
      json: { type: 'boolean', default: false },
      'key-only': { type: 'boolean', default: false },
      'secret-only': { type: 'boolean', default: false },
    },
  });
  const [action, id, ...rest] = positionals;
  const actions = ['register', 'show', 'rotate-token', 'rotate-lead-credentials'] as const;
  if (!actions.includes(action as never)) throw new Usage(`unknown action ${JSON.stringify(action ?? '')}`);
  if (id === undefined || rest.length > 0) throw new Usage(`${action} takes one id`);
  if (values['key-only'] && values['secret-only'])
    throw new Usage('--key-only and --secret-only exclude each other');
  return { action: action as (typeof actions)[number], id, json: values.json, values };
}

async function perform(store: UserStore, p: ReturnType<typeof parse>): Promise<object> {
  switch (p.action) {
    case 'register':
      return registerUser(store, registrationBody(p.id, p.values.account, p.values.margin));
    case 'show':
      return showUser(store, p.id);
    case 'rotate-token':
      return rotateCopierToken(store, p.id);
    case 'rotate-lead-credentials':
      return rotateLeadCredentials(store, p.id, {
        apiKey: !p.values['secret-only'],
        secret: !p.values['key-only'],
      });
  }
}

function text(action: string, r: Record<string, unknown>): string {
  const lines = Object.entries(r).map(([k, v]) => `${k}\t${typeof v === 'object' ? JSON.stringify(v) : v}`);
  const once =
    action === 'show'
      ? ''
      : '(the token or secret above is shown once: MySQL keeps only its hash or ciphertext)\n';
  return `${lines.join('\n')}\n${once}`;
}
