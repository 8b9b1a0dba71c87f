// R2 as `lvm publish` writes to it and the sharded Worker reads it: the subset of the R2Bucket API both use, and the
// adapter that makes a bucket (Cloudflare's, or Miniflare's local one in tests and the bench) an ObjectTarget.

export interface R2ObjectBodyLike {
  size: number;
  body: ReadableStream<Uint8Array>;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}

export interface R2BucketLike {
  get(key: string): Promise<R2ObjectBodyLike | null>;
  head(key: string): Promise<{ size: number } | null>;
  put(key: string, value: Uint8Array | string | ArrayBuffer): Promise<unknown>;
  delete?(key: string): Promise<void>;
}

/** An R2 bucket as a publish target (what src/shard/publish-node.ts's ObjectTarget asks for). */
export function bucketTarget(bucket: R2BucketLike, label = "R2") {
  return {
    label,
    put: (key: string, bytes: Uint8Array | string) => bucket.put(key, bytes),
    head: async (key: string) => {
      const h = await bucket.head(key);
      return h ? { size: h.size } : null;
    },
    get: async (key: string) => {
      const o = await bucket.get(key);
      return o ? new Uint8Array(await o.arrayBuffer()) : null;
    },
  };
}
