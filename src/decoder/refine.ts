/**
 * Decode a vector to text, then refine with the encoder (vec2text's idea with a cheap, fixed corrector):
 *
 *   step 0: beam search on the target v; every hypothesis is embedded; the best by cosine to v is kept.
 *   step k: the conditioning vector moves against the best hypothesis's error, c <- unit(c + feedback * (v - e(best))),
 *           and beam search plus `samples` sampled hypotheses on c are embedded; a better cosine to v replaces the
 *           best. A step that finds nothing better leaves the best as it was, so the next step moves c further the
 *           same way; after `patience` + 1 such steps in a row refinement stops (the cosine stopped improving).
 *   A corrector model (config.corrector, vec2text's trained second model) decodes on [c ; e(best)] instead of c,
 *   and on [v ; v] at step 0.
 *
 * A text is ranked (embedded) once per decode (steps often find the same hypotheses again).
 * The answer is the best text seen, so its cosine is never below step 0's. Runtime-agnostic: the caller brings the
 * runner (reference or core) and an embed function (the encoder).
 *
 * Ranking: the candidates (25-35 a sentence) may be embedded by a faster, slightly less exact function (`rank`: the
 * encoder's embedForRanking, 7-bit activations); then the few texts of the history are embedded again by `embed`, and
 * the history and answer are the best by that exact cosine, so every cosine reported is embed's.
 */
import { createRng } from "../lvm/rng.ts";
import { beamDecode, type Hypothesis, sampleDecode } from "./decode.ts";
import { conditioning, targetDim } from "./model-format.ts";
import type { DecoderRunner } from "./runner.ts";
import { detokenize } from "./text.ts";

/**
 * Refinement when the caller gives no options (the API, `lvm decode`, `lvm eval-decoder`; reports record the values
 * used): 3 steps with patience 1, chosen on validation (600 val.sent sentences, candidates ranked by embedForRanking;
 * docs/decoder.md): refined cosine 0.890 with 2 steps (patience 0), 0.894 with 3 steps, 0.895 with 4 or 5, 0.896
 * with 6 steps and patience 2; Worker decode p50 on the LVM's predictions (`npm run bench -- worker-decode`, three
 * runs) 118-128, 171-182 and 184-195 ms for 2, 3 and 4 steps. 4 steps come within 5-16 ms of the 200 ms target (Node
 * 193-203 ms in the same runs) for 0.001 of cosine; 3 steps keep 18-29 ms.
 */
export const DEFAULT_STEPS = 3;
export const DEFAULT_BEAM = 4;
export const DEFAULT_SAMPLES = 8;
export const DEFAULT_TEMPERATURE = 0.8;
/**
 * Chosen on validation for the shipped decoder (200 val.sent sentences, 4 steps; docs/decoder.md): refined cosine
 * 0.853 at 1, 0.862 at 0.7, 0.870 at 0.5, 0.881 at 0.3, 0.884 at 0.2, 0.885 at 0.1. Small moves keep each step near
 * the target, so more steps find a better text; 0.2 is as good as 0.1 within noise and faster (172 against 191 ms p50).
 */
export const DEFAULT_FEEDBACK = 0.2;
/** See DEFAULT_STEPS: a step that finds no better text may be followed by one more. */
export const DEFAULT_PATIENCE = 1;

/** The defaults above by option name (the API's descriptions show them). */
export const REFINE_DEFAULTS = {
  steps: DEFAULT_STEPS,
  beam: DEFAULT_BEAM,
  samples: DEFAULT_SAMPLES,
  temperature: DEFAULT_TEMPERATURE,
  feedback: DEFAULT_FEEDBACK,
  patience: DEFAULT_PATIENCE,
} as const;

export interface RefineOptions {
  /** Refinement steps after the first hypothesis (0: beam search + re-rank only). Default DEFAULT_STEPS (3). */
  steps?: number;
  /** Beam width. Default DEFAULT_BEAM (4). */
  beam?: number;
  /** Sampled hypotheses per refinement step. Default DEFAULT_SAMPLES (8). */
  samples?: number;
  temperature?: number;
  /** How far the conditioning vector moves against the error each step. Default DEFAULT_FEEDBACK (0.2). */
  feedback?: number;
  /** Steps in a row that may find no better text before refinement stops early. Default DEFAULT_PATIENCE (1). */
  patience?: number;
  seed?: number;
  /** Most pieces a hypothesis may have. Default: the model's maxTokens (its training length). */
  maxTokens?: number;
}

export interface RefineStep {
  step: number;
  text: string;
  /** The text's pieces as generated. */
  ids: number[];
  cosine: number;
}

export interface DecodedText {
  text: string;
  ids: number[];
  /** Cosine of the text's embedding to the target. */
  cosine: number;
  /** Refinement steps run (0 = first hypothesis only). */
  steps: number;
  /** Best text so far after each step run (index = step). */
  history: RefineStep[];
}

export type EmbedTexts = (texts: readonly string[]) => Promise<Float32Array>;

export class DecoderInputError extends Error {
  override name = "DecoderInputError";
}

/** A copy of `vector` scaled to unit length; throws naming what is wrong (size, a non-finite value, zero length). */
export function checkTargetVector(vector: ArrayLike<number>, dim: number, what = "vector"): Float32Array {
  if (vector.length !== dim) throw new DecoderInputError(`${what} has ${vector.length} values, expected ${dim}`);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    const x = vector[i];
    if (!Number.isFinite(x)) throw new DecoderInputError(`${what}[${i}] is ${x}, expected a finite number`);
    norm += x * x;
  }
  if (norm === 0) throw new DecoderInputError(`${what} is all zeros: it has no direction to decode`);
  const inv = 1 / Math.sqrt(norm);
  return Float32Array.from({ length: dim }, (_, i) => vector[i] * inv);
}

function cosine(a: Float32Array, aOffset: number, b: Float32Array, dim: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < dim; i++) {
    dot += a[aOffset + i] * b[i];
    na += a[aOffset + i] * a[aOffset + i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

interface Scored {
  text: string;
  ids: number[];
  cosine: number;
  vector: Float32Array;
}

/**
 * Embeds the distinct non-empty texts of `hyps` that `seen` lacks (and adds them) and returns the best of all of
 * `hyps` by cosine to `target` (null if none).
 */
async function bestOf(
  hyps: Hypothesis[],
  pieces: readonly string[],
  embed: EmbedTexts,
  target: Float32Array,
  seen: Map<string, Scored>,
): Promise<Scored | null> {
  const byText = new Map<string, number[]>();
  for (const h of hyps) {
    const text = detokenize(pieces, h.ids);
    if (text.length > 0 && !byText.has(text)) byText.set(text, h.ids);
  }
  const fresh = [...byText.keys()].filter((t) => !seen.has(t));
  if (fresh.length > 0) {
    const dim = target.length;
    const vectors = await embed(fresh);
    for (const [i, text] of fresh.entries()) {
      const vector = vectors.slice(i * dim, (i + 1) * dim);
      seen.set(text, { text, ids: byText.get(text)!, cosine: cosine(vectors, i * dim, target, dim), vector });
    }
  }
  let best: Scored | null = null;
  for (const text of byText.keys()) {
    const scored = seen.get(text)!;
    if (!best || scored.cosine > best.cosine) best = scored;
  }
  return best;
}

/**
 * `rank` embeds the candidates to compare them (default: `embed`); the history's texts are then scored by `embed`
 * (exactScores).
 */
export async function decodeAndRefine(
  runner: DecoderRunner,
  embed: EmbedTexts,
  pieces: readonly string[],
  vector: ArrayLike<number>,
  options: RefineOptions = {},
  rank: EmbedTexts = embed,
): Promise<DecodedText> {
  const {
    steps = DEFAULT_STEPS,
    beam = DEFAULT_BEAM,
    samples = DEFAULT_SAMPLES,
    temperature = DEFAULT_TEMPERATURE,
    feedback = DEFAULT_FEEDBACK,
    patience = DEFAULT_PATIENCE,
    seed = 1,
    maxTokens = runner.config.maxTokens,
  } = options;
  const dim = targetDim(runner.config);
  const target = checkTargetVector(vector, dim);
  const rng = createRng(seed);
  const seen = new Map<string, Scored>();
  const first = conditioning(runner.config, target);
  let best = await bestOf(beamDecode(runner, first, beam, { maxTokens }), pieces, rank, target, seen);
  if (!best) best = { text: "", ids: [], cosine: 0, vector: new Float32Array(dim) };
  const history: RefineStep[] = [{ step: 0, text: best.text, ids: best.ids, cosine: best.cosine }];
  let cond = target.slice();
  let run = 0;
  let stale = 0;
  for (let k = 1; k <= steps; k++) {
    run = k;
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      cond[i] += feedback * (target[i] - best.vector[i]);
      norm += cond[i] * cond[i];
    }
    if (!(norm > 0)) break;
    cond = cond.map((x) => x / Math.sqrt(norm));
    // A corrector also reads what the best text so far embeds to (an empty text: the target, as at step 0).
    const v = conditioning(runner.config, cond, best.text ? best.vector : target);
    const hyps = [
      ...beamDecode(runner, v, beam, { maxTokens }),
      ...(samples > 0 ? sampleDecode(runner, v, samples, rng, { temperature, maxTokens, logProb: false }) : []),
    ];
    const candidate = await bestOf(hyps, pieces, rank, target, seen);
    if (!candidate || candidate.cosine <= best.cosine) {
      if (++stale > patience) break;
      continue;
    }
    stale = 0;
    best = candidate;
    history.push({ step: k, text: best.text, ids: best.ids, cosine: best.cosine });
  }
  if (rank !== embed) return exactScores(history, embed, target, run);
  return { text: best.text, ids: best.ids, cosine: best.cosine, steps: run, history };
}

/**
 * The history's texts (ranked by another embedding) scored by `embed`: each step's entry becomes the best by that
 * cosine among the entries up to it, and the answer the last entry. One embed call of the distinct texts (a few).
 */
async function exactScores(history: RefineStep[], embed: EmbedTexts, target: Float32Array, steps: number): Promise<DecodedText> {
  const dim = target.length;
  const texts = [...new Set(history.map((h) => h.text).filter((t) => t.length > 0))];
  const vectors = texts.length > 0 ? await embed(texts) : new Float32Array(0);
  const exact = new Map(texts.map((t, i) => [t, cosine(vectors, i * dim, target, dim)]));
  const rescored: RefineStep[] = [];
  for (const h of history) {
    const scored = { ...h, cosine: exact.get(h.text) ?? 0 };
    const previous = rescored.at(-1);
    rescored.push(previous && previous.cosine >= scored.cosine ? { ...previous, step: h.step } : scored);
  }
  const answer = rescored.at(-1)!;
  return { text: answer.text, ids: answer.ids, cosine: answer.cosine, steps, history: rescored };
}
