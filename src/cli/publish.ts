import { DEFAULT_MAX_SHARD_BYTES, directoryTarget, type ObjectTarget, publishStore } from "../shard/publish-node.ts";
import { bucketTarget } from "../shard/r2.ts";
import { type Command, intOption, UsageError } from "./command.ts";

export const publishCommand: Command = {
  usage: `lvm publish --store <dir> (--to <dir> | --wrangler-state <dir>) [options]

Cuts the store into shards (row ranges, each with its INT8 vectors, texts, provenance and its own HNSW graph) for the
sharded Worker (wrangler-sharded.toml), writes them as a new release, checks that every object the manifest names is
there with its size and sha256, and only then switches current.json to it: the release being served is never broken.

Options:
  --store <dir>           concept store to publish
  --to <dir>              a directory laid out like the R2 bucket (keys as paths)
  --wrangler-state <dir>  the local R2 of \`wrangler dev -c wrangler-sharded.toml\` (its .wrangler/state folder)
  --shards <n>            number of shards                     [the fewest under --max-shard-mb]
  --max-shard-mb <n>      largest shard object, MiB            [${DEFAULT_MAX_SHARD_BYTES / 2 ** 20}]
  --exact-only            no HNSW graphs (exact search only)
  --M <n>                 HNSW links per node                  [16]
  --ef-construction <n>   HNSW build beam                      [100]
  --release <name>        release name                         [UTC timestamp]`,
  options: {
    store: { type: "string" },
    to: { type: "string" },
    "wrangler-state": { type: "string" },
    shards: { type: "string" },
    "max-shard-mb": { type: "string" },
    "exact-only": { type: "boolean" },
    M: { type: "string" },
    "ef-construction": { type: "string" },
    release: { type: "string" },
  },
  async run(values) {
    const store = values.store as string | undefined;
    if (!store) throw new UsageError("--store is required");
    const to = values.to as string | undefined;
    const state = values["wrangler-state"] as string | undefined;
    if ((to === undefined) === (state === undefined)) throw new UsageError("give exactly one of --to and --wrangler-state");
    const hnsw = values["exact-only"]
      ? (false as const)
      : { M: intOption(values.M, "M", 16, 2), efConstruction: intOption(values["ef-construction"], "ef-construction", 100) };
    const options = {
      shards: values.shards === undefined ? undefined : intOption(values.shards, "shards", 1),
      maxShardBytes: intOption(values["max-shard-mb"], "max-shard-mb", DEFAULT_MAX_SHARD_BYTES / 2 ** 20) * 2 ** 20,
      hnsw,
      release: values.release as string | undefined,
      onProgress: (message: string) => console.error(message),
    };
    let target: ObjectTarget;
    let close = async () => {};
    if (to !== undefined) target = directoryTarget(to);
    else {
      const { openWranglerLocalBucket } = await import("../shard/wrangler-local-node.ts");
      const local = await openWranglerLocalBucket(state as string);
      target = bucketTarget(local.bucket, `wrangler local R2 in ${state}`);
      close = local.dispose;
    }
    try {
      const { manifest, maxShardBytes } = await publishStore(store, target, options);
      console.log(
        `published release '${manifest.release}' to ${target.label}: ${manifest.count} rows in ${manifest.shards.length} shards ` +
          `(largest ${(maxShardBytes / 2 ** 20).toFixed(1)} MiB${manifest.hnsw ? `, HNSW M ${manifest.hnsw.M}` : ", exact only"}); current.json switched`,
      );
    } finally {
      await close();
    }
    return 0;
  },
};
