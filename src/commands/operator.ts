import type { Run } from '../cli.js';
import { createExchangeClient } from '../clients/exchange.js';
import { DEV_SECRET_KEY_HEX } from '../config.js';
import { AttemptLimiter } from '../copytrade/api/attempt-limiter.js';
import { copyChangePublisher } from '../copytrade/copy-changes.js';
import { leadNotices } from '../copytrade/notices/lead-notices.js';
import { redisNoticePusher } from '../copytrade/notices/notices.js';
import { profitShareNotices } from '../copytrade/notices/profit-share-notices.js';
import { allOperatorRoutes } from '../copytrade/operator/all-routes.js';
import { MIN_OPERATOR_TOKEN, startOperatorServer } from '../copytrade/operator/server.js';
import { ProfitShare } from '../copytrade/profit-share/profit-share.js';
import { createPool } from '../infra/mysql/client.js';
import { createRedis } from '../infra/redis.js';
import { untilSignal } from './signals.js';

/**
 * The operator API on TF_OPERATOR_HOST:TF_OPERATOR_PORT (127.0.0.1:9467), every area's
 * routes (all-routes.ts). Its writes reach the running copy engine as any writer's do: the
 * changes on copy:changed, the notices on copy:notices.
 */
export const run: Run = async (_args, { config, log }) => {
  if (config.operatorToken === '') {
    process.stderr.write(
      `tradeflow operator: set TF_OPERATOR_TOKEN (at least ${MIN_OPERATOR_TOKEN} characters, e.g. \`openssl rand -hex 32\`); the operator API does not run without one\n`,
    );
    return 2;
  }
  if (config.secretKey.equals(Buffer.from(DEV_SECRET_KEY_HEX, 'hex'))) {
    log.warn(
      'TF_SECRET_KEY is the public development default: lead secrets written now are as good as plaintext',
    );
  }
  const redis = createRedis(config.redisUrl, { name: 'tf-operator' });
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 4 });
  const prefix = config.redisPrefix;
  const exchange = createExchangeClient(config.exchangeUrl, { timeoutMs: config.httpTimeoutMs });
  const pushNotice = redisNoticePusher(redis, prefix);
  const publish = copyChangePublisher(redis, prefix);
  try {
    const server = await startOperatorServer({
      host: config.operatorHost,
      port: config.operatorPort,
      token: config.operatorToken,
      routes: allOperatorRoutes({
        users: { db: pool, publish, secretKey: config.secretKey },
        leads: {
          pool,
          publish,
          secretKey: config.secretKey,
          levels: config.leadLevels,
          notices: leadNotices(pool, pushNotice, log),
        },
        profitShare: new ProfitShare({
          pool,
          exchange,
          cycle: config.profitShareCycle,
          log,
          events: profitShareNotices(pool, pushNotice, log),
        }),
      }),
      attempts: new AttemptLimiter({
        maxFailures: config.operatorAuthMaxFailures,
        windowMs: config.operatorAuthWindowMs,
      }),
      log,
    });
    process.stdout.write(`operator API on http://${config.operatorHost}:${server.port}\n`);
    const signal = await untilSignal();
    log.info({ signal }, 'closing the operator API');
    server.close();
    return 0;
  } finally {
    redis.disconnect();
    await Promise.allSettled([pool.end(), exchange.close()]);
  }
};
