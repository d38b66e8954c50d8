import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'mysql',
  schema: './src/infra/mysql/counter-schema.ts',
  out: './drizzle/counter',
});
