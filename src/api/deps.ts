import type { Hono } from "hono";
import type { MetricsHealth, MetricsSummary, RequestMetric } from "../db/metrics.ts";
import type { EmbeddingCacheStats } from "../encoders/cached-encoder.ts";
import type { ModelRegistry } from "../lvm/registry.ts";
import type { PredictDeps, StageLog } from "../predict/types.ts";
import type { BundleFileName } from "../store/format.ts";
import type { RateLimit } from "./middleware/rate-limit.ts";

export type { RateLimit, RateLimiter } from "./middleware/rate-limit.ts";

/** What the app needs from the metrics store (src/db/metrics.ts MetricsRecorder provides it). */
export interface MetricsSink {
  record(metric: RequestMetric): void;
  health(): MetricsHealth;
  summary(options: { windowMs?: number }): Promise<MetricsSummary>;
  purge(options: { before?: number }): Promise<{ deleted: number }>;
}

/** Store and model files as bytes, for clients that run the model and the search themselves. */
export interface BundleSource {
  /** One of the store's bundle files (BUNDLE_FILES in src/store/format.ts). */
  storeFile(name: BundleFileName): Promise<ArrayBuffer | string | undefined>;
  /** "model.json" | "weights.bin" of a served model (INT8 where available). */
  modelFile(model: string, name: string): Promise<ArrayBuffer | string | undefined>;
}

/** Per-request labels and stage timings, recorded as one metrics row. */
export type RequestLog = StageLog;

/** `client`: the API key a request authenticated with ("key:<n>"), set by requireApiKey for the rate limit. */
export type Env = { Variables: { log: RequestLog; client?: string } };

export interface AppDeps extends PredictDeps {
  models: ModelRegistry;
  metrics?: MetricsSink;
  /** The embedding cache (src/encoders/cached-encoder.ts): counted by the service, reported by GET /v1/metrics. */
  embedCache?: { countStoredHits(n: number): void; stats(): EmbeddingCacheStats };
  /** Admin routes need `Authorization: Bearer <adminKey>`; without a key they are disabled. */
  adminKey?: string;
  /** /v1/* needs one of these keys (LVM_API_KEYS); none: open. */
  apiKeys?: string[];
  /** Origins allowed to call the API from a browser (LVM_CORS_ORIGINS, "*" for any); none: no CORS. */
  corsOrigins?: string[];
  /** A per-client request limit answering 429 with Retry-After; none: unlimited. */
  rateLimit?: RateLimit;
  /**
   * Reloads the models from their source, and on Node the store's latest commit (admin route); resolves to the
   * names now served where the reload built a new registry (this app's `models` then serve no more requests).
   */
  reloadModels?: () => Promise<string[] | undefined>;
  runtime: "node" | "worker";
  version?: string;
  /** The bytes the web page's in-browser mode downloads (INT8 store and model files). */
  bundle?: BundleSource;
  /** Extra routes of the runtime (e.g. static files), mounted before the 404 handler. */
  extend?: (app: Hono<Env>) => void;
}
