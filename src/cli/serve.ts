import { startServer } from "../entries/node-server.ts";
import { type Command, intOption, UsageError } from "./command.ts";

export const serveCommand: Command = {
  name: "serve",
  summary: "run the HTTP API and the web page over a store (the embedded demo store by default)",
  usage: `lvm serve [--store <dir>] [--port <n>] [options]

Serves the models in models/ (and --models <dir>) on the WASM core, plus the copy-last and
mean-context baselines.

Options:
  --store <dir>        concept store to serve                         [embedded demo store]
  --port <n>           port                                           [$PORT or 8787]
  --host <addr>        address to bind                                [127.0.0.1]
  --models <dir>       another folder of model directories to serve
  --model <name>       default model                                  [$LVM_MODEL or the first trained one]
  --precision <p>      int8 | f32 on the WASM core                    [int8]
  --metrics-db <file>  SQLite file for request metrics, or 'off'      [.lvm/metrics.sqlite]
Environment: LVM_ADMIN_KEY enables the admin routes.`,
  options: {
    store: { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    models: { type: "string" },
    model: { type: "string" },
    precision: { type: "string" },
    "metrics-db": { type: "string" },
  },
  async run(values) {
    const precision = (values.precision as string | undefined) ?? "int8";
    if (precision !== "int8" && precision !== "f32") throw new UsageError(`--precision must be int8 or f32, got '${precision}'`);
    await startServer({
      store: values.store as string | undefined,
      port: intOption(values.port, "port", Number(process.env.PORT ?? 8787)),
      host: (values.host as string | undefined) ?? "127.0.0.1",
      modelRoots: values.models ? [values.models as string] : [],
      model: (values.model as string | undefined) ?? process.env.LVM_MODEL,
      precision,
      metricsDb: values["metrics-db"] as string | undefined,
      adminKey: process.env.LVM_ADMIN_KEY,
    });
    return new Promise<number>(() => {}); // serves until killed
  },
};
