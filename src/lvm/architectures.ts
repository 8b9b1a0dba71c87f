// Architecture presets, tensor names and shapes, parameter counts and seeded initialisation (runtime-agnostic).
import type { ModelConfig, RecurrentConfig, TensorMap, TransformerConfig } from "./model-format.ts";
import { createRng, type Rng } from "./rng.ts";

export const CONTEXT = 5;

export interface TensorSpec {
  name: string;
  shape: number[];
  init: "glorot" | "zeros" | "ones" | "forget-bias" | "position" | "head";
}

/** GRU gates, in storage order. r: reset, z: update, n: candidate. */
export const GRU_GATES = ["r", "z", "n"] as const;
/** LSTM gates, in storage order. i: input, f: forget, g: cell candidate, o: output. */
export const LSTM_GATES = ["i", "f", "g", "o"] as const;

function round64(x: number): number {
  return Math.max(64, Math.round(x / 64) * 64);
}

/**
 * Presets. The full-size ones follow the research report at 768-D (LSTM ~5.1M, GRU ~7.1M, Transformer ~17M
 * parameters) and scale with the encoder dimension (about 3.4M / 2.7M / 6.6M at 512-D); `gru-edge` is the
 * edge model: one GRU layer, <= 2 MB as INT8 at 512-D (1.84M parameters).
 */
export const PRESETS = ["gru", "lstm", "transformer", "gru-edge"] as const;
export type Preset = (typeof PRESETS)[number];

export function presetConfig(preset: Preset, dim: number): ModelConfig {
  switch (preset) {
    case "gru":
      return { arch: "gru", dim, context: CONTEXT, hidden: dim, layers: 2, residual: true };
    case "gru-edge":
      return { arch: "gru", dim, context: CONTEXT, hidden: dim, layers: 1, residual: true };
    case "lstm":
      return { arch: "lstm", dim, context: CONTEXT, hidden: round64((dim * 2) / 3), layers: 2, residual: true };
    case "transformer":
      return {
        arch: "transformer",
        dim,
        context: CONTEXT,
        width: round64((dim * 2) / 3),
        layers: 5,
        heads: 8,
        ffn: 4 * round64((dim * 2) / 3),
        residual: true,
      };
  }
}

function recurrentSpecs(c: RecurrentConfig): TensorSpec[] {
  const specs: TensorSpec[] = [];
  const gates = c.arch === "gru" ? GRU_GATES : LSTM_GATES;
  for (let l = 0; l < c.layers; l++) {
    const input = l === 0 ? c.dim : c.hidden;
    for (const g of gates) specs.push({ name: `${c.arch}.${l}.w_i${g}`, shape: [input, c.hidden], init: "glorot" });
    for (const g of gates) specs.push({ name: `${c.arch}.${l}.w_h${g}`, shape: [c.hidden, c.hidden], init: "glorot" });
    if (c.arch === "gru") {
      // GRU keeps separate input and recurrent biases: b_hn sits inside the reset gate's product.
      for (const g of gates) specs.push({ name: `gru.${l}.b_i${g}`, shape: [c.hidden], init: "zeros" });
      for (const g of gates) specs.push({ name: `gru.${l}.b_h${g}`, shape: [c.hidden], init: "zeros" });
    } else {
      for (const g of gates) specs.push({ name: `lstm.${l}.b_${g}`, shape: [c.hidden], init: g === "f" ? "forget-bias" : "zeros" });
    }
  }
  specs.push({ name: "head.w", shape: [c.hidden, c.dim], init: "head" }, { name: "head.b", shape: [c.dim], init: "zeros" });
  return specs;
}

function transformerSpecs(c: TransformerConfig): TensorSpec[] {
  const w = c.width;
  const specs: TensorSpec[] = [
    { name: "embed.w", shape: [c.dim, w], init: "glorot" },
    { name: "embed.b", shape: [w], init: "zeros" },
    { name: "embed.pos", shape: [c.context, w], init: "position" },
  ];
  for (let l = 0; l < c.layers; l++) {
    const p = `layers.${l}`;
    specs.push(
      { name: `${p}.ln1.g`, shape: [w], init: "ones" },
      { name: `${p}.ln1.b`, shape: [w], init: "zeros" },
      { name: `${p}.attn.wq`, shape: [w, w], init: "glorot" },
      { name: `${p}.attn.bq`, shape: [w], init: "zeros" },
      { name: `${p}.attn.wk`, shape: [w, w], init: "glorot" },
      { name: `${p}.attn.bk`, shape: [w], init: "zeros" },
      { name: `${p}.attn.wv`, shape: [w, w], init: "glorot" },
      { name: `${p}.attn.bv`, shape: [w], init: "zeros" },
      { name: `${p}.attn.wo`, shape: [w, w], init: "glorot" },
      { name: `${p}.attn.bo`, shape: [w], init: "zeros" },
      { name: `${p}.ln2.g`, shape: [w], init: "ones" },
      { name: `${p}.ln2.b`, shape: [w], init: "zeros" },
      { name: `${p}.ffn.w1`, shape: [w, c.ffn], init: "glorot" },
      { name: `${p}.ffn.b1`, shape: [c.ffn], init: "zeros" },
      { name: `${p}.ffn.w2`, shape: [c.ffn, w], init: "glorot" },
      { name: `${p}.ffn.b2`, shape: [w], init: "zeros" },
    );
  }
  specs.push(
    { name: "final_ln.g", shape: [w], init: "ones" },
    { name: "final_ln.b", shape: [w], init: "zeros" },
    { name: "head.w", shape: [w, c.dim], init: "head" },
    { name: "head.b", shape: [c.dim], init: "zeros" },
  );
  return specs;
}

export function tensorSpecs(config: ModelConfig): TensorSpec[] {
  if (config.arch === "transformer") {
    if (config.width % config.heads !== 0) throw new Error(`transformer width ${config.width} is not a multiple of heads ${config.heads}`);
    return transformerSpecs(config);
  }
  return recurrentSpecs(config);
}

export function parameterCount(config: ModelConfig): number {
  return tensorSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Seeded initial weights: Glorot-uniform matrices, zero biases, LSTM forget bias 1, LayerNorm gain 1,
 * positions N(0, 0.02), and a head scaled by 0.1 so that a residual model starts close to copy-last.
 */
export function initTensors(config: ModelConfig, seed: number): TensorMap {
  const rng: Rng = createRng(seed);
  const tensors: TensorMap = new Map();
  for (const spec of tensorSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (spec.init === "glorot" || spec.init === "head") {
      const [fanIn, fanOut] = spec.shape;
      const limit = Math.sqrt(6 / (fanIn + fanOut)) * (spec.init === "head" ? 0.1 : 1);
      for (let i = 0; i < n; i++) data[i] = (2 * rng.next() - 1) * limit;
    } else if (spec.init === "ones" || spec.init === "forget-bias") {
      data.fill(1);
    } else if (spec.init === "position") {
      for (let i = 0; i < n; i++) data[i] = 0.02 * rng.normal();
    }
    tensors.set(spec.name, { shape: spec.shape, data });
  }
  return tensors;
}
