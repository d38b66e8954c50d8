import { customType } from 'drizzle-orm/mysql-core';

/**
 * An order id: ASCII, compared byte for byte. The default collation would compare
 * case-insensitively, so `AB1` and `ab1` (two orders to the counter, two keys to the
 * downstream services) would collide on the unique key and one would be dropped.
 */
export const orderIdColumn = customType<{ data: string; driverData: string }>({
  dataType: () => 'varchar(64) CHARACTER SET ascii COLLATE ascii_bin',
});
