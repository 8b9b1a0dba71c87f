// `npm start`: the HTTP server on the embedded default (or LVM_STORE), port from PORT.
import { startServer } from "./node-server.ts";

await startServer({ store: process.env.LVM_STORE, port: Number(process.env.PORT ?? 8787), host: process.env.HOST ?? "127.0.0.1" });
