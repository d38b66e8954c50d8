import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/mysql2/migrator';
import mysql from 'mysql2/promise';
import { createDb, createPool } from './client.js';

/**
 * drizzle/ sits three levels above this file in src/ and dist/, four in the benchmark's
 * build (dist-bench/src/): the nearest one above.
 */
const folder = (name: 'engine' | 'counter') => {
  const near = fileURLToPath(new URL(`../../../drizzle/${name}`, import.meta.url));
  return existsSync(near) ? near : fileURLToPath(new URL(`../../../../drizzle/${name}`, import.meta.url));
};

/** Creates the database if needed and applies the drizzle-kit migrations of `kind`. */
export async function migrateDatabase(
  serverUrl: string,
  database: string,
  kind: 'engine' | 'counter',
): Promise<void> {
  const u = new URL(serverUrl);
  const admin = await mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
  });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
  } finally {
    await admin.end();
  }
  const pool = createPool(serverUrl, database, { connections: 1 });
  try {
    await migrate(createDb(pool), { migrationsFolder: folder(kind) });
  } finally {
    await pool.end();
  }
}
