import { customType } from 'drizzle-orm/mysql-core';

/**
 * An order id: ASCII, compared byte for byte. The default collation would compare
 * case-insensitively, so `AB1` and `ab1` (two orders to the counter, two keys to the
 * downstream services) would collide on the unique key and one would be dropped.
 */
export const orderIdColumn = customType<{ data: string; driverData: string }>({
  dataType: () => 'varchar(64) CHARACTER SET ascii COLLATE ascii_bin',
});

/**
 * A copy-trading id, key or token, compared exactly as Redis and the exchange compare it.
 * VARBINARY, not ascii_bin: `_bin` collations of MySQL and MariaDB still pad with spaces
 * (`'tok'` = `'tok   '`), and the NO PAD ones differ between the two (MariaDB's
 * ascii_nopad_bin, MySQL 8's utf8mb4_0900_bin). mysql2 hands VARBINARY back as a Buffer;
 * createPool's typeCast turns it into a string (the ids are ASCII).
 */
export const binaryIdColumn = customType<{ data: string; driverData: string; config: { length: number } }>({
  dataType: (c) => `varbinary(${c?.length ?? 64})`,
  fromDriver: (v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v)),
});
