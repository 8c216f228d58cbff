import { MS, type GraphBuilder, type Value } from "./onnx-builder.ts";
import { layerNorm, linear, rmsNorm } from "./ops.ts";
import { columnScales, quantizeColumns, weightBits, type Precision } from "./quantize.ts";
import type { BaseWeights } from "../families/base-weights.ts";
import { transpose2d } from "../formats/linear.ts";
import type { Tensor } from "../core/tensor.ts";

/**
 * A graph's view of the model's base weights: each one an initializer,
 * added once however often the graph reads it; linear weights also as
 * [in, out], transposed only when the shared weight file lacks them.
 */
export class BaseInitializers {
  private inits = new Map<string, Value>();
  constructor(
    private g: GraphBuilder,
    private weights: BaseWeights,
    private eps: number,
    /** "rms": T5's LayerNorm (scale only) */
    private norm: "layer" | "rms" = "layer",
    private precision: Precision = "fp32",
  ) {}

  tensor(name: string, t: Tensor): Value {
    return this.inits.get(name) ?? this.inits.set(name, this.g.init(name, t.shape, t.data)).get(name)!;
  }

  W = (name: string): Value => this.tensor(name, this.weights.get(name));

  /** a [out, in] weight as [in, out] */
  WT = (name: string): Value => this.transposed(name, this.weights.get(name));

  private transposed(key: string, w: Tensor): Value {
    let v = this.inits.get(`${key}.T`);
    if (!v) {
      const [r, c] = w.shape;
      v = this.g.initDerived(`${key}.T`, [c, r], () => transpose2d(w).data);
      this.inits.set(`${key}.T`, v);
    }
    return v;
  }

  /** The model's linear layer at `prefix` (torch's weight [out, in], and its bias unless the family has none) applied to x. */
  linear = (prefix: string, x: Value, withBias = true): Value =>
    this.project(x, `${prefix}.weight`, this.weights.get(`${prefix}.weight`), () => (withBias ? this.W(`${prefix}.bias`) : null));

  /**
   * x · wᵀ (+ bias) for a base weight w [out, in] kept under `key`. fp32: a
   * MatMul on its transpose. int8: one DynamicQuantizeMatMul (x quantised
   * at run time, w once per model, per output column; the bias fused).
   * `bias` is asked for after the weight, so initializers keep their order.
   */
  project = (x: Value, key: string, w: Tensor, bias: () => Value | null): Value => {
    if (this.precision !== "int8") {
      const wt = this.transposed(key, w);
      return linear(x, wt, bias());
    }
    const [out, inp] = w.shape;
    const bits = weightBits();
    const name = `${key}.q${bits}`;
    let q = this.inits.get(name);
    if (!q) this.inits.set(name, (q = this.g.initDerived(name, [inp, out], () => quantizeColumns(w, bits).q, "int8")));
    const scale = this.tensor(`${name}.scale`, { shape: [out], data: columnScales(w, bits) });
    return this.g.op("DynamicQuantizeMatMul", [x, q, scale, null, bias()], {}, undefined, MS);
  };

  /** the model's LayerNorm at `prefix` */
  ln = (prefix: string) => (x: Value): Value =>
    this.norm === "rms" ? rmsNorm(x, this.W(`${prefix}.weight`), this.eps) : layerNorm(x, this.W(`${prefix}.weight`), this.W(`${prefix}.bias`), this.eps);
}
