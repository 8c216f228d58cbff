import { mul } from "../graph/ops.ts";
import { LoraSchema, adapterhubTargets, loraFactor, putGate, readLoraPlaces, type LoraConfig, type LoraWeights } from "./lora.ts";
import { sortedPlaces, type AdapterMethod } from "./method.ts";

// (IA)^3 (Liu et al.): a learned vector rescales the targeted layers' outputs,
// y = (W x + b) ⊙ (s · l). AdapterHub saves it as a LoRA config with
// composition_mode "scale" and r 1, the vector in lora_B.

export const ia3: AdapterMethod<LoraConfig, LoraWeights> = {
  name: "ia3",
  composable: false,

  parse(config) {
    if (config.architecture !== "lora" || config.composition_mode !== "scale") return null;
    const c = LoraSchema.parse(config);
    if (c.r !== 1) throw new Error('composition_mode "scale" needs r == 1');
    return { r: 1, alpha: c.alpha, scaling: c.alpha / c.r, targets: adapterhubTargets(c), leaveOut: c.leave_out, gated: c.use_gating };
  },

  read: (ctx, c) => readLoraPlaces(ctx, c, "scale"),

  spec(c, w) {
    const places = sortedPlaces(w.keys());
    return { method: "ia3", places, dims: places.map(() => 1), ...(c.gated ? { shape: { gated: true } } : {}) };
  },

  feeds(spec, bank, put) {
    for (const place of spec.places) {
      put(place, "scale", bank.map((m) => new Float32Array([m.config.scaling])), []);
      put(place, "b", bank.map((m) => m.weights.get(place)!.b.data), m0(bank).weights.get(place)!.b.shape);
      if (spec.shape?.gated) putGate(place, bank.map((m) => m.weights.get(place)!), put);
    }
  },

  linear(y, x, place, spec, p, mean) {
    if (!spec.places.includes(place)) return y;
    return mul(y, mul(p(place, "b", ["out"]), loraFactor(x, place, spec, p, mean)));
  },
};

const m0 = <T>(xs: T[]) => xs[0];
