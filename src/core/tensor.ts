// The tensor as polyhead holds weights: row-major float32 values and a shape.

export interface Tensor {
  shape: number[];
  /**
   * Row-major values. Readers may return a view over the file's bytes or
   * over a storage shared with other tensors: treat it as read-only.
   */
  data: Float32Array;
}

/** A weight file's tensors by name. */
export type StateDict = Map<string, Tensor>;
