// GELU of the Transformer LVM's feed-forward layer (src/lvm/reference.ts gelu), four lanes per step.
import { expF32x4 } from "./nn";

/**
 * GELU, tanh approximation, in place over n f32 values at x:
 *   gelu(v) = 0.5 v (1 + tanh(u)),  u = sqrt(2 / pi) (v + 0.044715 v^3)
 * computed as v / (1 + exp(-2u)), the same function (0.5 (1 + tanh u) = sigmoid(2u)): one exp and one division
 * per value, and no cancellation in 1 + tanh(u) for negative v. expF32x4 clamps its argument to [-87, 88], so
 * a very negative v gives v / (1 + e^88) ~ 0 and a very positive one v. Four values per step (exp on four lanes);
 * the last n % 4 by the scalar form of the same formula.
 */
export function gelu(x: usize, n: i32): void {
  const c: f32 = -2 * 0.7978845608028654; // -2 sqrt(2 / pi)
  const vc = f32x4.splat(c);
  const cubic = f32x4.splat(0.044715);
  const one = f32x4.splat(1);
  const end = x + (<usize>n << 2);
  let p = x;
  for (; p + 16 <= end; p += 16) {
    const v = v128.load(p);
    const v3 = f32x4.mul(f32x4.mul(v, v), v);
    const minus2u = f32x4.mul(vc, f32x4.add(v, f32x4.mul(cubic, v3)));
    v128.store(p, f32x4.div(v, f32x4.add(one, expF32x4(minus2u))));
  }
  for (; p < end; p += 4) {
    const v = load<f32>(p);
    const minus2u = Mathf.min(Mathf.max(c * (v + <f32>0.044715 * v * v * v), -87), 88);
    store<f32>(p, v / (1 + Mathf.exp(minus2u)));
  }
}
