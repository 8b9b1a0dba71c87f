/**
 * SentencePiece unigram tokenizer (Viterbi over piece scores), as used by Universal Sentence Encoder lite.
 *
 * The semantics follow the tokenizer that produced the published USE-lite vectors (TF.js models /
 * @energetic-ai/embeddings) so that our vectors reproduce them: NFKC, spaces become U+2581 and one is
 * prefixed; a position with no matching piece becomes the unknown id 0 with score 0; consecutive unknowns
 * collapse into one; on equal scores the later-starting piece wins.
 */
export type Vocabulary = ReadonlyArray<readonly [piece: string, score: number]>;

const WORD_START = "\u2581";
/** Ids 0..5 are <unk>, <s>, </s> and reserved tokens: never produced by matching. */
const RESERVED = 6;
const UNKNOWN_ID = 0;

export class UnigramTokenizer {
  private readonly pieces = new Map<string, number>();
  private readonly maxPieceLength: number;
  private readonly vocabulary: Vocabulary;

  constructor(vocabulary: Vocabulary) {
    this.vocabulary = vocabulary;
    let maxLength = 1;
    for (let id = RESERVED; id < vocabulary.length; id++) {
      const piece = vocabulary[id][0];
      this.pieces.set(piece, id);
      maxLength = Math.max(maxLength, [...piece].length);
    }
    this.maxPieceLength = maxLength;
  }

  encode(text: string): number[] {
    const normalized = text.normalize("NFKC");
    if (normalized.length === 0) return [];
    const symbols = [...(WORD_START + normalized.replaceAll(" ", WORD_START))];
    const n = symbols.length;
    // best[end]: best total score of a segmentation of symbols[0, end); 0 doubles as "unset" (reference semantics).
    const best = new Float64Array(n + 1);
    const lastPiece = new Int32Array(n + 1);
    const lastLength = new Int32Array(n + 1);
    // Edges are relaxed in order of end position, then start position, as the reference does.
    const edgesByEnd: Array<Array<[start: number, id: number, length: number]>> = Array.from({ length: n + 1 }, () => []);
    for (let start = 0; start < n; start++) {
      let matched = false;
      let piece = "";
      for (let length = 1; length <= this.maxPieceLength && start + length <= n; length++) {
        piece += symbols[start + length - 1];
        const id = this.pieces.get(piece);
        if (id !== undefined) {
          edgesByEnd[start + length].push([start, id, length]);
          matched = true;
        }
      }
      if (!matched) edgesByEnd[start + 1].push([start, UNKNOWN_ID, 1]);
    }
    for (let end = 1; end <= n; end++) {
      const edges = edgesByEnd[end].sort((a, b) => a[0] - b[0]);
      for (const [start, id, length] of edges) {
        const score = (id === UNKNOWN_ID ? 0 : this.vocabulary[id][1]) + best[start];
        if (best[end] === 0 || score >= best[end]) {
          best[end] = score;
          lastPiece[end] = id;
          lastLength[end] = length;
        }
      }
    }
    const reversed: number[] = [];
    for (let end = n; end > 0; end -= lastLength[end]) reversed.push(lastPiece[end]);
    const ids: number[] = [];
    for (let i = reversed.length - 1; i >= 0; i--) {
      const id = reversed[i];
      if (id === UNKNOWN_ID && ids.length > 0 && ids[ids.length - 1] === UNKNOWN_ID) continue;
      ids.push(id);
    }
    return ids;
  }
}
