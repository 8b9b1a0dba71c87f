// drizzle-kit configuration: `npm run db:generate` turns src/db/schema.ts into SQL migrations under migrations/.
// Migrations are applied only by drizzle-orm's migrator at run time (src/db/sqlite-node.ts, src/db/d1.ts), never by drizzle-kit push
// or wrangler.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
