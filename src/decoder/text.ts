/**
 * Sentences and pieces of the decoder's text. Runtime-agnostic.
 *
 * Sentence rule (documented in docs/decoder.md): each paragraph is cut by Intl.Segmenter("en", sentence
 * granularity), each piece trimmed, empty ones dropped. The decoder data keeps sentences of 4..32 USE-lite
 * tokens without an unknown piece (id 0), so every kept sentence is exactly the detokenized text of its ids.
 */

/** Ids 0..2 of the USE-lite SentencePiece vocabulary: <unk>, <s>, </s>; 3..5 are reserved and never produced. */
export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
/** Ids below this are never text pieces. */
export const FIRST_PIECE_ID = 6;

const WORD_START = "\u2581";
const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });

export function splitSentences(paragraph: string): string[] {
  return [...segmenter.segment(paragraph)].map((s) => s.segment.trim()).filter((s) => s.length > 0);
}

/** Token ids -> text: pieces joined, U+2581 -> space, trimmed; special ids (< 6) are dropped. */
export function detokenize(pieces: readonly string[], ids: ArrayLike<number>): string {
  let out = "";
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < FIRST_PIECE_ID || id >= pieces.length) continue;
    out += pieces[id];
  }
  return out.replaceAll(WORD_START, " ").trim();
}
