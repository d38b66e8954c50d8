import type { Run } from '../cli.js';
import { migrateDatabase } from '../infra/mysql/migrate.js';

export const run: Run = async (_args, { config, log }) => {
  await migrateDatabase(config.mysqlUrl, config.engineDb, 'engine');
  await migrateDatabase(config.counterMysqlUrl, config.counterDb, 'counter');
  log.info({ engine: config.engineDb, counter: config.counterDb }, 'databases migrated');
  return 0;
};
