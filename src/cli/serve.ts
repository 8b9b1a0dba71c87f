import { startServer } from "../entries/node-server.ts";
import { parseWindowMs } from "../lvm/runners/micro-batch.ts";
import { parseBackend } from "../lvm/runners/select-node.ts";
import type { BackendName } from "../lvm/runners/types.ts";
import { type Command, intOption, UsageError } from "./command.ts";

export const serveCommand: Command = {
  usage: `lvm serve [--store <dir>] [--port <n>] [options]

Serves the models in models/ (and --models <dir>), plus the copy-last and mean-context
baselines, on the fastest engine that loads (auto: timed at startup; the choice and why are in
the startup line and /healthz).

Options:
  --store <dir>        concept store to serve                         [embedded demo store]
  --port <n>           port                                           [$PORT or 8787]
  --host <addr>        address to bind                                [127.0.0.1]
  --models <dir>       another folder of model directories to serve
  --model <name>       default model                                  [$LVM_MODEL or the first trained one]
  --precision <p>      int8 | f32                                     [int8]
  --backend <b>        auto: times WebGPU (a real GPU only), onnxruntime-node (ort-node-int8,
                       or ort-node at f32) and the core at startup and keeps the fastest;
                       or force one: core | core-f32 | ort-node | ort-node-int8 | ort-node-webgpu |
                       ort-node-webgpu-f16 | ort-node-coreml. An engine that cannot load or a GPU
                       that fails falls back to the core (--precision)  [$LVM_BACKEND or auto]
  --batch-window-ms <ms>  concurrent predictions arriving within this window share one
                       model call; 0 turns micro-batching off    [$LVM_BATCH_WINDOW_MS or 1]
  --max-batch <n>      most rows in one model call               [$LVM_MAX_BATCH or 64]
  --metrics-db <file>  SQLite file or postgres:// URL for metrics, or 'off' [.lvm/metrics.sqlite]
Environment: LVM_ADMIN_KEY enables the admin routes.`,
  options: {
    store: { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    models: { type: "string" },
    model: { type: "string" },
    precision: { type: "string" },
    backend: { type: "string" },
    "batch-window-ms": { type: "string" },
    "max-batch": { type: "string" },
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
      backend: values.backend === undefined ? undefined : parseServeBackend(values.backend as string),
      microBatch: {
        windowMs: values["batch-window-ms"] === undefined ? undefined : parseWindow(values["batch-window-ms"] as string),
        maxBatch: values["max-batch"] === undefined ? undefined : intOption(values["max-batch"], "max-batch", 64),
      },
      metricsDb: values["metrics-db"] as string | undefined,
      adminKey: process.env.LVM_ADMIN_KEY,
    });
    return new Promise<number>(() => {}); // serves until killed
  },
};

function parseWindow(value: string): number {
  try {
    return parseWindowMs(value, "--batch-window-ms");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseServeBackend(value: string): BackendName {
  try {
    return parseBackend(value);
  } catch (error) {
    throw new UsageError(`--backend: ${(error as Error).message}`);
  }
}
