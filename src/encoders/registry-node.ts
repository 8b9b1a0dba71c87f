// Node adapter: the encoders `lvm ingest --encoder` and the server can load, by id.
import type { EncoderRef } from "../store/format.ts";
import type { Encoder } from "./types.ts";
import { USE_LITE_DIM, USE_LITE_ID } from "./use-lite.ts";

export interface EncoderEntry extends EncoderRef {
  load(): Promise<Encoder>;
}

export const encoders: Record<string, EncoderEntry> = {
  [USE_LITE_ID]: {
    id: USE_LITE_ID,
    dim: USE_LITE_DIM,
    load: async () => (await import("./use-lite-node.ts")).loadUseLiteEncoder(),
  },
};

export function encoderEntry(id: string): EncoderEntry {
  const entry = encoders[id];
  if (!entry) throw new Error(`unknown encoder '${id}' (known: ${Object.keys(encoders).join(", ")})`);
  return entry;
}
