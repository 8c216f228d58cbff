import type { GraphBuilder, Value } from "./onnx-builder.ts";
import { layerNorm, rmsNorm } from "./ops.ts";
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
  ) {}

  tensor(name: string, t: Tensor): Value {
    return this.inits.get(name) ?? this.inits.set(name, this.g.init(name, t.shape, t.data)).get(name)!;
  }

  W = (name: string): Value => this.tensor(name, this.weights.get(name));

  /** a [out, in] weight as [in, out] */
  WT = (name: string): Value => {
    let v = this.inits.get(`${name}.T`);
    if (!v) {
      const [r, c] = this.weights.get(name).shape;
      v = this.g.initDerived(`${name}.T`, [c, r], () => transpose2d(this.weights.get(name)).data);
      this.inits.set(`${name}.T`, v);
    }
    return v;
  };

  /** the model's LayerNorm at `prefix` */
  ln = (prefix: string) => (x: Value): Value =>
    this.norm === "rms" ? rmsNorm(x, this.W(`${prefix}.weight`), this.eps) : layerNorm(x, this.W(`${prefix}.weight`), this.W(`${prefix}.bias`), this.eps);
}
