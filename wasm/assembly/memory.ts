// Linear-memory management for the TypeScript wrapper: it allocates every buffer it hands to a kernel.
export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

export function free(ptr: usize): void {
  heap.free(ptr);
}
