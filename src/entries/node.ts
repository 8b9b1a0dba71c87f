// `npm start`: the HTTP server on the embedded default (or LVM_STORE), port from PORT.
import { startServer } from "./node-server.ts";

const env = process.env;
await startServer({
  store: env.LVM_STORE,
  port: Number(env.PORT ?? 8787),
  host: env.HOST ?? "127.0.0.1",
  model: env.LVM_MODEL,
  precision: env.LVM_PRECISION === "f32" ? "f32" : "int8",
  metricsDb: env.LVM_METRICS_URL ?? env.LVM_METRICS_DB,
  adminKey: env.LVM_ADMIN_KEY,
  decoder: env.LVM_DECODER,
});
