// Module types for what wrangler bundles: .wasm as a compiled module, .bin as bytes, .jsonl as text.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
declare module "*.bin" {
  const data: ArrayBuffer;
  export default data;
}
declare module "*.jsonl" {
  const text: string;
  export default text;
}
