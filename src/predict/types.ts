import type { RefineOptions } from "../decoder/refine.ts";
import type { VectorDecoder } from "../decoder/vector-decoder.ts";
import type { EmbeddingCache } from "../encoders/cached-encoder.ts";
import type { Encoder } from "../encoders/types.ts";
import type { SearchHits } from "../index/exact.ts";
import type { StoreHubness } from "../index/hubness.ts";
import type { VectorIndex } from "../index/types.ts";
import type { LvmModel } from "../lvm/registry.ts";
import type { Concept, ConceptStore } from "../store/concept-store.ts";
import type { VectorB64 } from "./vector-b64.ts";

/**
 * One context concept: a text (embedded), a vector (normalised) as JSON numbers or as base64 float32
 * (vector-b64.ts), or a stored concept by its row.
 */
export type ContextItem = string | number[] | VectorB64 | { row: number };

/** An index whose answers arrive later: the sharded Worker's fan-out to its shards (src/shard/fanout.ts). */
export interface AsyncVectorIndex {
  readonly kind: string;
  search(query: Float32Array, k: number, exclude?: ReadonlySet<number>, options?: { ef?: number }): Promise<SearchHits>;
}

/** What the service searches: an index answering at once (VectorIndex) or later (AsyncVectorIndex); it awaits either. */
export type SearchIndex = VectorIndex | AsyncVectorIndex;

/** What the service runs on: the server's deps, or the page's downloaded store, index and models. */
export interface PredictDeps {
  store: ConceptStore;
  /** The exact index (always present); also resolves vector context items to their stored rows. */
  exactIndex: SearchIndex;
  /** An approximate index, used unless a request asks for `exact`. */
  approximateIndex?: SearchIndex;
  /**
   * Each stored concept's mean cosine to its nearest stored concepts (src/index/hubness.ts), for models with a
   * hubness penalty. Undefined where the runtime does not compute it: such models then rank by plain cosine.
   */
  hubness?: StoreHubness;
  /** Resolves once the encoder is loaded; undefined where only vectors and rows are accepted. */
  encoder?: () => Promise<Encoder>;
  /** The runtime's embedding cache (its LRU wraps `encoder`); texts answered by stored concepts are counted in it. */
  embedCache?: Pick<EmbeddingCache, "countStoredHits">;
  models: { get(name: string): LvmModel | undefined; list(): LvmModel[]; defaultName: string | undefined };
  /**
   * The vector-to-text decoder (src/decoder/), for requests with `decode: true`; resolves once loaded. Undefined
   * where none is configured: such requests get a 501 saying how to enable it.
   */
  decoder?: () => Promise<VectorDecoder>;
}

/** Generate text for the predicted vector(s) with the decoder, and how. */
export interface DecodeRequest {
  decode?: boolean;
  decodeOptions?: RefineOptions;
}

/** Text the decoder generated from a predicted vector: not a stored concept, hence `generated: true`. */
export interface GeneratedText {
  generated: true;
  text: string;
  /** Cosine of the text's re-embedding to the predicted vector. */
  cosine: number;
  /** Refinement steps run. */
  steps: number;
}

export interface NextRequest extends DecodeRequest {
  context: ContextItem[];
  k: number;
  model?: string;
  exact?: boolean;
  /** Beam width of the approximate index. */
  ef?: number;
}

export interface GenerateRequest extends DecodeRequest {
  context: ContextItem[];
  steps: number;
  model?: string;
  /** Stop when consecutive predicted vectors have cosine above this (the model has degenerated). */
  stopCosine: number;
  exact?: boolean;
  ef?: number;
}

/** Milliseconds per stage, filled in as the stages run (so a failed request still reports what ran). */
export interface StageLog {
  model?: string;
  k?: number;
  backend?: string;
  embedMs?: number;
  lvmMs?: number;
  searchMs?: number;
}

export interface Timings {
  embedMs?: number;
  lvmMs?: number;
  searchMs?: number;
  decodeMs?: number;
  totalMs: number;
}

/** `score`: cosine to the query; `rankScore`: with a model's hubness penalty, the penalised score results are ordered by. */
export type ScoredConcept = Concept & { score: number; rankScore?: number };

export interface NextResult {
  model: string;
  backend: string;
  index: string;
  results: ScoredConcept[];
  /** The predicted unit vector. */
  predicted: Float32Array;
  /** With `decode: true`. */
  generated?: GeneratedText;
  timings: Timings;
}

export interface GenerateResult {
  model: string;
  backend: string;
  steps: (ScoredConcept & { cosineToPrevious: number | null; generated?: GeneratedText })[];
  stopped: "steps" | "degenerate" | "exhausted";
  timings: Timings;
}
