// Node adapter: serves the Hono app with @hono/node-server over a store on disk.
import { serve } from "@hono/node-server";
import { createApp } from "../api/app.ts";
import { encoderEntry } from "../encoders/registry-node.ts";
import type { Encoder } from "../encoders/types.ts";
import { readStore } from "../store/fs-store.ts";
import { ensureDemoStore } from "./demo-store.ts";

export interface ServerOptions {
  /** A store directory; the embedded demo store when omitted. */
  store?: string;
  port: number;
  host: string;
}

export async function startServer(options: ServerOptions) {
  const storeDir = options.store ?? (await ensureDemoStore());
  const store = await readStore(storeDir);
  const entry = encoderEntry(store.encoder.id);
  // Loaded in the background so the port opens at once; text requests wait for it.
  let loading: Promise<Encoder> | undefined;
  const encoder = () => {
    loading ??= entry.load();
    return loading;
  };
  encoder().catch((error) => console.error(`encoder '${entry.id}' failed to load: ${error.message}`));
  const app = createApp({ store, encoder });
  const server = serve({ fetch: app.fetch, port: options.port, hostname: options.host });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  console.log(
    `lvm-edge listening on http://${options.host}:${options.port} (store ${storeDir}: ${store.count} concepts, encoder ${store.encoder.id})`,
  );
  return server;
}
