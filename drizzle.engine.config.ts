import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'mysql',
  schema: [
    './src/infra/mysql/engine-schema.ts',
    './src/infra/mysql/copy-schema.ts',
    './src/infra/mysql/copy-product-schema.ts',
  ],
  out: './drizzle/engine',
});
