/** A small ONNX graph builder: named values, initializers and nodes, encoded by proto.ts. */

import { toHalf } from "./half.ts";
import {
  type AttributeMessage,
  AttributeType,
  DataType,
  type DataTypeCode,
  encodeModel,
  type NodeMessage,
  type TensorMessage,
  type ValueInfoMessage,
} from "./proto.ts";

/** Attribute values: an integer number is INT, `{ float }` FLOAT, number[] INTS, string STRING. */
export type AttrValue = number | { float: number } | number[] | string;

export const OPSET = 17;
/** IR version 8 goes with opset 17 (ONNX 1.12). */
export const IR_VERSION = 8;

function bytesOf(view: ArrayBufferView): Uint8Array {
  // A copy: initializers must not alias buffers the caller may reuse. Little-endian hosts only (x86, ARM, WASM).
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

function attribute(name: string, value: AttrValue): AttributeMessage {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer (use { float })`);
    return { name, type: AttributeType.INT, i: value };
  }
  if (typeof value === "string") return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  return { name, type: AttributeType.FLOAT, f: value.float };
}

export class GraphBuilder {
  readonly nodes: NodeMessage[] = [];
  readonly initializers: TensorMessage[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  /**
   * The element type f32() and scalar() store: FLOAT, or FLOAT16 (values rounded to half precision) while a
   * float16 part of a graph is built.
   */
  floatType: typeof DataType.FLOAT | typeof DataType.FLOAT16 = DataType.FLOAT;

  /** A new unique value name. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX value '${name}' defined twice`);
    this.names.add(name);
    return name;
  }

  tensor(name: string, dataType: DataTypeCode, dims: number[], data: ArrayBufferView): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const bytesPer =
      dataType === DataType.FLOAT || dataType === DataType.INT32
        ? 4
        : dataType === DataType.INT64
          ? 8
          : dataType === DataType.FLOAT16
            ? 2
            : 1;
    if (data.byteLength !== n * bytesPer) throw new Error(`initializer ${name}: ${data.byteLength} bytes for dims [${dims}]`);
    this.initializers.push({ name: this.claim(name), dims, dataType, rawData: bytesOf(data) });
    return name;
  }

  /** A float initializer from float32 values, stored as `floatType`. */
  f32(name: string, data: Float32Array, dims: number[] = [data.length]): string {
    return this.floatType === DataType.FLOAT16
      ? this.tensor(name, DataType.FLOAT16, dims, toHalf(data))
      : this.tensor(name, DataType.FLOAT, dims, data);
  }

  i8(name: string, data: Int8Array, dims: number[]): string {
    return this.tensor(name, DataType.INT8, dims, data);
  }

  /** An int64 constant; `dims` [] makes a scalar. */
  i64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh("i64");
    this.initializers.push({ name, dims, dataType: DataType.INT64, rawData: bytesOf(new BigInt64Array(values.map((v) => BigInt(v)))) });
    return name;
  }

  /** A float scalar constant (dims []), stored as `floatType`. */
  scalar(value: number): string {
    const name = this.fresh("scalar");
    const half = this.floatType === DataType.FLOAT16;
    this.initializers.push({
      name,
      dims: [],
      dataType: this.floatType,
      rawData: bytesOf(half ? toHalf(new Float32Array([value])) : new Float32Array([value])),
    });
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.opN(opType, inputs, 1, attrs, output ? [output] : undefined)[0];
  }

  /** Adds a node with `count` outputs. */
  opN(opType: string, inputs: string[], count: number, attrs: Record<string, AttrValue> = {}, outputs?: string[]): string[] {
    const outs = outputs?.map((o) => this.claim(o)) ?? Array.from({ length: count }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      name: this.fresh(`n_${opType}`),
      opType,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  encode(options: {
    inputs: ValueInfoMessage[];
    outputs: ValueInfoMessage[];
    name: string;
    docString?: string;
    metadata?: Record<string, string>;
    extraOpsets?: { domain: string; version: number }[];
  }): Uint8Array {
    for (const v of options.inputs) this.names.add(v.name);
    return encodeModel({
      irVersion: IR_VERSION,
      opsetImports: [{ domain: "", version: OPSET }, ...(options.extraOpsets ?? [])],
      producerName: "lvm-edge",
      producerVersion: "0.1.0",
      docString: options.docString,
      metadata: options.metadata,
      graph: { name: options.name, nodes: this.nodes, initializers: this.initializers, inputs: options.inputs, outputs: options.outputs },
    });
  }
}
