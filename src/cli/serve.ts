import { startServer } from "../entries/node-server.ts";
import { type Command, intOption } from "./command.ts";

export const serveCommand: Command = {
  name: "serve",
  summary: "run the HTTP API over a store (the embedded demo store by default)",
  usage: `lvm serve [--store <dir>] [--port <n>] [--host <addr>]

Options:
  --store <dir>   concept store to serve                 [embedded demo store]
  --port <n>      port                                   [$PORT or 8787]
  --host <addr>   address to bind                        [127.0.0.1]`,
  options: { store: { type: "string" }, port: { type: "string" }, host: { type: "string" } },
  async run(values) {
    await startServer({
      store: values.store as string | undefined,
      port: intOption(values.port, "port", Number(process.env.PORT ?? 8787)),
      host: (values.host as string | undefined) ?? "127.0.0.1",
    });
    return new Promise<number>(() => {}); // serves until killed
  },
};
