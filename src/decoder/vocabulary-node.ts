// Node: the USE-lite SentencePiece pieces (in id order), from the core encoder's weight file, for detokenizing.

import { readUseLiteCoreFile } from "../encoders/use-lite-core-format.ts";
import { readUseLiteCoreWeights } from "../encoders/use-lite-core-node.ts";

export async function readUseLitePieces(): Promise<string[]> {
  return readUseLiteCoreFile(await readUseLiteCoreWeights("int8")).vocabulary.map(([piece]) => piece);
}
