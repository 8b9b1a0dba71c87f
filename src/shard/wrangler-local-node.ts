// The local R2 bucket `wrangler dev` reads (its persisted Miniflare state), opened through Miniflare's own R2 API so that
// `lvm publish --wrangler-state` fills exactly what `wrangler dev -c wrangler-sharded.toml` then serves.
import { join } from "node:path";
import { Miniflare } from "miniflare";
import type { R2BucketLike } from "./r2.ts";

/** wrangler-sharded.toml's R2 bucket. */
export const SHARDS_BUCKET = "lvm-shards";

/** `state`: wrangler's persistence folder (`.wrangler/state` beside the config, or what --persist-to names). */
export async function openWranglerLocalBucket(
  state: string,
  bucket = SHARDS_BUCKET,
): Promise<{ bucket: R2BucketLike; dispose(): Promise<void> }> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    r2Buckets: { SHARDS: bucket },
    r2Persist: join(state, "v3", "r2"),
  });
  return { bucket: (await mf.getR2Bucket("SHARDS")) as unknown as R2BucketLike, dispose: () => mf.dispose() };
}
