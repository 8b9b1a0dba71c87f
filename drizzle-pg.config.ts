// drizzle-kit configuration for the Postgres metrics schema: `npm run db:generate` also runs
// `drizzle-kit generate --config drizzle-pg.config.ts`, turning src/db/schema-pg.ts into migrations/postgres/.
// Applied only by drizzle-orm's node-postgres migrator at run time (src/db/postgres-node.ts).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema-pg.ts",
  out: "./migrations/postgres",
});
