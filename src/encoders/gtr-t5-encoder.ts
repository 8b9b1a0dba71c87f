/**
 * The GTR-T5 encoder on transformers.js (@huggingface/transformers): its tokenizer (tokenizer.json) and the
 * ONNX T5 encoder run by onnxruntime (onnxruntime-node on Node, onnxruntime-web with WASM or WebGPU in a
 * browser), never the network: `env.allowRemoteModels = false` and every file comes from `files`.
 * Pooling and the heads are plain TypeScript (gtr-t5.ts).
 *
 * transformers.js has no T5EncoderModel class (its T5 classes are seq2seq and want a decoder), so the encoder
 * ONNX is loaded as an encoder-only model (onnx/model*.onnx, inputs input_ids + attention_mask, output
 * last_hidden_state), which is what optimum's and sentence-transformers' T5 encoder exports are.
 */
import { AutoTokenizer, env, PreTrainedModel, type PreTrainedTokenizer, Tensor } from "@huggingface/transformers";
import {
  applyDense,
  type DenseLayer,
  denseFromFiles,
  GTR_FILES,
  GTR_MAX_TOKENS,
  GTR_ONNX_FILES,
  type GtrDtype,
  type GtrHead,
  GtrModelMissingError,
  gtrEncoderId,
  l2NormalizeRows,
  type ModelFiles,
  meanPool,
  missingFileMessage,
  parseDenseConfig,
  readTorchSingleTensor,
  writeSafetensors,
} from "./gtr-t5.ts";

const TORCH_DENSE = "2_Dense/pytorch_model.bin";

import type { Encoder } from "./types.ts";

export interface GtrEncoderOptions {
  /** The model folder's name (models/<model>/), used in the encoder id and in messages. */
  model: string;
  files: ModelFiles;
  /**
   * What transformers.js loads from: an absolute directory (Node), or, with `localModelPath`, the folder's
   * name under it (e.g. localModelPath "https://example.com/models/", location "gtr-t5-base" in a browser).
   */
  location: string;
  /** transformers.js' env.localModelPath: a URL prefix (or path) holding model folders. */
  localModelPath?: string;
  head: GtrHead;
  /** The ONNX variant; default: the first present of q8 (onnx/model_quantized.onnx), fp32, fp16. */
  dtype?: GtrDtype;
  /** transformers.js device: "cpu" on Node (default there), "wasm" or "webgpu" in a browser. */
  device?: string;
  /** Texts per ONNX run (sorted by length first, so a batch pads little). */
  batchSize?: number;
  /** Token limit; defaults to 512 (sentence-transformers head, or sentence_bert_config.json) or 128 (vec2text). */
  maxTokens?: number;
  /** When set, a model whose output width differs is refused (e.g. 768 for gtr-t5-base). */
  expectedDim?: number;
}

export interface GtrEncoder extends Encoder {
  readonly head: GtrHead;
  readonly dtype: GtrDtype;
  readonly maxTokens: number;
  /** Token ids as the encoder sees them (truncated, with </s>), for inspection and tests. */
  tokenize(texts: readonly string[]): Promise<number[][]>;
  dispose(): void;
}

/** transformers.js's encoder-only model class, for the T5 encoder graph. */
class GtrT5EncoderModel extends PreTrainedModel {}

// transformers.js reads its settings from one global `env`; loads are serialised so two encoders never interleave.
let loading: Promise<unknown> = Promise.resolve();

function decodeJson(bytes: Uint8Array, path: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

export async function createGtrEncoder(options: GtrEncoderOptions): Promise<GtrEncoder> {
  const { files, model, head } = options;
  const id = gtrEncoderId(model, head);
  const missing = (file: { path: string; purpose: string }) =>
    new GtrModelMissingError(missingFileMessage(id, files, file.path, file.purpose, model));
  const need = async (file: { path: string; purpose: string }) => {
    if (!(await files.exists(file.path))) throw missing(file);
  };
  const readJson = async (file: { path: string; purpose: string }) => decodeJson(await files.read(file.path), files.locate(file.path));

  await need(GTR_FILES.config);
  await need(GTR_FILES.tokenizer);
  await need(GTR_FILES.tokenizerConfig);
  let dtype = options.dtype;
  if (dtype) await need({ path: GTR_ONNX_FILES[dtype], purpose: `the ONNX T5 encoder, ${dtype}` });
  else {
    for (const d of Object.keys(GTR_ONNX_FILES) as GtrDtype[]) {
      if (await files.exists(GTR_ONNX_FILES[d])) {
        dtype = d;
        break;
      }
    }
    if (!dtype) throw missing({ path: GTR_ONNX_FILES.q8, purpose: `the ONNX T5 encoder; or ${GTR_ONNX_FILES.fp32} (float32)` });
  }

  const config = (await readJson(GTR_FILES.config)) as { model_type?: string; d_model?: number; [key: string]: unknown };
  if (config.model_type !== "t5" && config.model_type !== "mt5")
    throw new Error(`${files.locate(GTR_FILES.config.path)}: model_type '${config.model_type}' is not a T5 encoder`);
  const dModel = Number(config.d_model);
  if (!Number.isInteger(dModel) || dModel <= 0) throw new Error(`${files.locate(GTR_FILES.config.path)}: no valid d_model`);

  if ((await files.exists(GTR_FILES.pooling.path)) && head === "sentence-transformers") {
    const pooling = (await readJson(GTR_FILES.pooling)) as { pooling_mode_mean_tokens?: boolean };
    if (pooling.pooling_mode_mean_tokens === false)
      throw new Error(`${files.locate(GTR_FILES.pooling.path)}: only mean pooling is supported`);
  }
  let maxTokens = options.maxTokens ?? GTR_MAX_TOKENS[head];
  if (options.maxTokens === undefined && head === "sentence-transformers" && (await files.exists(GTR_FILES.sentenceBert.path))) {
    const st = (await readJson(GTR_FILES.sentenceBert)) as { max_seq_length?: number };
    if (Number.isInteger(st.max_seq_length)) maxTokens = st.max_seq_length!;
  }

  let dense: DenseLayer | undefined;
  if (head === "sentence-transformers") {
    await need(GTR_FILES.denseConfig);
    const denseConfig = await readJson(GTR_FILES.denseConfig);
    let weights: Uint8Array;
    if (await files.exists(GTR_FILES.denseWeights.path)) weights = await files.read(GTR_FILES.denseWeights.path);
    else if (await files.exists(TORCH_DENSE)) {
      // A sentence-transformers folder copied by hand may hold the older torch file: read it as pull would convert it.
      const { inFeatures, outFeatures } = parseDenseConfig(denseConfig);
      const t = readTorchSingleTensor(await files.read(TORCH_DENSE), "linear.weight", inFeatures * outFeatures);
      weights = writeSafetensors("linear.weight", t.dtype, [outFeatures, inFeatures], t.raw);
    } else throw missing(GTR_FILES.denseWeights);
    dense = denseFromFiles(denseConfig, weights);
    if (dense.inFeatures !== dModel) throw new Error(`2_Dense takes ${dense.inFeatures} inputs but the encoder's d_model is ${dModel}`);
  }
  const dim = dense ? dense.outFeatures : dModel;
  if (options.expectedDim !== undefined && dim !== options.expectedDim)
    throw new Error(`encoder '${id}': the model in ${files.locate("")} gives ${dim}-D vectors, expected ${options.expectedDim}`);

  const load = loading.then(async () => {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.useFSCache = false;
    env.useBrowserCache = false;
    if (options.localModelPath !== undefined) env.localModelPath = options.localModelPath;
    const tokenizer = await AutoTokenizer.from_pretrained(options.location, { local_files_only: true });
    // model_type "custom": an encoder-only graph transformers.js need not recognise (and need not warn about).
    const encoder = await GtrT5EncoderModel.from_pretrained(options.location, {
      local_files_only: true,
      config: { ...config, model_type: "custom" } as never,
      model_file_name: "model",
      dtype,
      ...(options.device ? { device: options.device as never } : {}),
    });
    return { tokenizer, encoder };
  });
  loading = load.catch(() => undefined);
  const { tokenizer, encoder } = await load;
  return new TransformersGtrEncoder(id, dim, head, dtype, maxTokens, tokenizer, encoder, dense, options.batchSize ?? 16);
}

class TransformersGtrEncoder implements GtrEncoder {
  readonly id: string;
  readonly dim: number;
  readonly head: GtrHead;
  readonly dtype: GtrDtype;
  readonly maxTokens: number;
  private readonly tokenizer: PreTrainedTokenizer;
  private readonly model: PreTrainedModel;
  private readonly dense: DenseLayer | undefined;
  private readonly batchSize: number;
  /** The special tokens the tokenizer appends (T5: </s>), found by encoding the empty text. */
  private readonly suffix: number[];
  private readonly padId: number;

  constructor(
    id: string,
    dim: number,
    head: GtrHead,
    dtype: GtrDtype,
    maxTokens: number,
    tokenizer: PreTrainedTokenizer,
    model: PreTrainedModel,
    dense: DenseLayer | undefined,
    batchSize: number,
  ) {
    this.id = id;
    this.dim = dim;
    this.head = head;
    this.dtype = dtype;
    this.maxTokens = maxTokens;
    this.tokenizer = tokenizer;
    this.model = model;
    this.dense = dense;
    this.batchSize = batchSize;
    this.suffix = tokenizer.encode("");
    this.padId = tokenizer.pad_token_id ?? 0;
  }

  /**
   * Token ids with T5's </s>, truncated the way HF tokenizers (and so sentence-transformers and vec2text) do:
   * the text's tokens are cut to leave room for the special tokens, which are kept. (transformers.js's own
   * `truncation` cuts after adding them, dropping </s>.)
   */
  private ids(text: string): number[] {
    const ids = this.tokenizer.encode(text);
    if (ids.length <= this.maxTokens) return ids;
    const special = this.suffix.length;
    return [...ids.slice(0, this.maxTokens - special), ...ids.slice(ids.length - special)];
  }

  /** Right-padded input_ids and attention_mask, int64 [batch, longest]. */
  private encodeBatch(texts: string[]): { input_ids: Tensor; attention_mask: Tensor } {
    const lists = texts.map((t) => this.ids(t));
    const seq = Math.max(...lists.map((l) => l.length));
    const ids = new BigInt64Array(lists.length * seq).fill(BigInt(this.padId));
    const mask = new BigInt64Array(lists.length * seq);
    lists.forEach((list, b) => {
      list.forEach((id, t) => {
        ids[b * seq + t] = BigInt(id);
        mask[b * seq + t] = 1n;
      });
    });
    return { input_ids: new Tensor("int64", ids, [lists.length, seq]), attention_mask: new Tensor("int64", mask, [lists.length, seq]) };
  }

  async tokenize(texts: readonly string[]): Promise<number[][]> {
    return texts.map((t) => this.ids(t));
  }

  async embed(texts: readonly string[]): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dim);
    // Similar lengths together: each batch pads to its longest text, and padding costs compute, not accuracy.
    const order = texts.map((_, i) => i).sort((a, b) => texts[a].length - texts[b].length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const rows = order.slice(start, start + this.batchSize);
      const inputs = this.encodeBatch(rows.map((i) => texts[i]));
      const outputs = (await this.model(inputs)) as Record<string, Tensor>;
      const hidden = outputs.last_hidden_state ?? Object.values(outputs)[0];
      if (hidden?.dims.length !== 3) throw new Error(`encoder '${this.id}': the ONNX graph's output is not [batch, seq, dim] token states`);
      const [batch, seq, width] = hidden.dims;
      // fp16 graphs return float16 activations: pool in float32.
      const data = hidden.data instanceof Float32Array ? hidden.data : Float32Array.from(hidden.data as ArrayLike<number>);
      let vectors = meanPool(data, inputs.attention_mask.data as BigInt64Array, batch, seq, width);
      if (this.dense) vectors = l2NormalizeRows(applyDense(this.dense, vectors, batch), this.dim);
      rows.forEach((row, b) => {
        out.set(vectors.subarray(b * this.dim, (b + 1) * this.dim), row * this.dim);
      });
    }
    return out;
  }

  dispose(): void {
    void this.model.dispose();
  }
}
