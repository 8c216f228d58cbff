// Model-independent decoding loop for encoder-decoder models (BART, mBART, Marian): greedy and beam search with
// the semantics of Hugging Face transformers 4.26's `generate()` (the version adapter-transformers 3.2.1 vendors).
// The model is abstracted as a `Step` (one decoder step over the rows that still need a token); everything else —
// logits processors, log-softmax, top-k, BeamSearchScorer / BeamHypotheses — is re-implemented here, following
// generation/utils.py (greedy_search, beam_search, _get_logits_processor), generation/logits_process.py and
// generation/beam_search.py function by function. Proved equal to the library by test/fixtures/decode/golden.json
// (tools/adapterhub/make_decode_golden.py) in test/unit/engine/decode.test.ts.
//
// HF details a reader might not expect (all verified against 4.26.1):
// * Lengths count the decoder start token. max_length = 1 + maxNewTokens. MinLengthLogitsProcessor bans EOS while
//   cur_len (= tokens so far, start token included) < minLength, so the first EOS can be generated token number
//   minLength (1-based, start token not counted): minLength 0 or 1 has no effect, and a sequence with EOS has at
//   least minLength - 1 ordinary tokens before it.
// * Beam length normalisation divides by len ** lengthPenalty where len counts the start token and NOT the EOS
//   (BeamHypotheses.add gets input_ids before the EOS is appended); hypotheses cut at max length count all
//   max_length tokens. BeamHypotheses.is_done uses the same cur_len (before the new token) with the best new score.
// * early_stopping in 4.26 is a plain truthiness test (`elif self.early_stopping: return True`): "never" (added in
//   4.27 with a different meaning) is accepted by 4.26 and behaves exactly like true. We follow 4.26.
// * Greedy search runs the processors on raw logits and never calls adjust_logits_during_generation, so Marian's
//   pad suppression (beamSuppressTokenIds) applies to beam search only; greedy can emit pad (and we keep it).
// * Beam search applies the processors to log-probs (after log_softmax), including ForcedBOS/ForcedEOS, which set
//   the forced token's log-prob to 0 and all others to -inf.
// * NoBadWords drops a bad word equal to [eos] (but keeps longer ones ending in eos).
//
// Numerics: torch works in float32. We keep every value HF keeps as a float32 tensor in float32 (Math.fround):
// logits, log-probs, beam scores and their sums, sequences_scores; log-sum-exp is computed in float64 and rounded
// once (torch's vectorised float32 sum may differ by an ulp; golden scores agree within 1e-5). Python floats
// (BeamHypotheses scores, worst_score, is_done) are float64 here too. Ties: torch.argmax returns the first maximal
// index and so does our greedy; for beam top-k we break exact ties by the lower flat index (beam * vocab + token).
// torch's CPU topk is NOT stable among exact ties (topk of all-equal values returns a scrambled order), so HF's
// own choice among exactly equal candidates is an implementation accident; on real logits exact ties between
// distinct candidates do not occur, and the one systematic case (ForcedBOS at step 1, where beams 1.. hold the same
// tokens at -1e9) yields the same sequences whichever tied beam is taken.

export interface DecodeOptions {
  /** HF max_new_tokens (>= 1); max_length = 1 + maxNewTokens (the decoder start token counts) */
  maxNewTokens: number;
  numBeams: number;
  lengthPenalty: number;
  /** 4.26 semantics: any truthy value (true or "never") stops a source as soon as it has numBeams hypotheses */
  earlyStopping: boolean | "never";
  numReturnSequences: number;
  /** HF min_length: EOS is banned while the sequence (decoder start token included) is shorter than this */
  minLength: number;
  noRepeatNgramSize: number;
  /** [] means none (HF rejects an empty list; None is its "none") */
  badWordsIds: number[][];
  forcedBosTokenId: number | null;
  forcedEosTokenId: number | null;
  eosTokenId: number;
  padTokenId: number;
  decoderStartTokenId: number;
  /** token ids whose logits are set to -inf before log-softmax in beam search (HF's adjust_logits_during_generation, e.g. Marian's pad) */
  beamSuppressTokenIds?: number[];
  /** the Step returns log-probabilities (log_softmax of the logits) rather than logits */
  stepLogProbs?: boolean;
}

/** One decoder step: the rows that still need a next token. `parent` is the index (in the previous call's `rows`) of the row this one continues (null on the first call): the model reorders its KV cache by it. Returns logits [rows.length × vocab] for the next token of each row. */
export type Step = (rows: { source: number; parent: number | null; tokens: number[] }[]) => Promise<Float32Array>;

export interface Decoded {
  /** per source row: numReturnSequences sequences (ids after the decoder start token, up to and including EOS; no trailing pad) */
  sequences: number[][][];
  /** per source row: beam scores as HF's sequences_scores (beam search only) */
  scores?: number[][];
}

type StepRow = Parameters<Step>[0][number];
const f32 = Math.fround;

export async function decode(sources: number, vocab: number, opts: DecodeOptions, step: Step): Promise<Decoded> {
  const maxLength = 1 + opts.maxNewTokens;
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1) throw new Error(`maxNewTokens must be an integer >= 1, got ${opts.maxNewTokens}`);
  if (!Number.isInteger(opts.numBeams) || opts.numBeams < 1) throw new Error(`numBeams must be an integer >= 1, got ${opts.numBeams}`);
  if (opts.numReturnSequences < 1 || opts.numReturnSequences > opts.numBeams)
    throw new Error(`numReturnSequences (${opts.numReturnSequences}) must be between 1 and numBeams (${opts.numBeams})`); // as generate() raises
  if (opts.minLength > maxLength) throw new Error(`minLength (${opts.minLength}) is larger than the maximum length (${maxLength})`);
  const process = logitsProcessor(opts, maxLength, vocab);
  const run = async (rows: StepRow[]) => {
    const logits = await step(rows);
    if (logits.length !== rows.length * vocab) throw new Error(`step returned ${logits.length} logits for ${rows.length} rows × ${vocab}`);
    return logits;
  };
  return opts.numBeams === 1 ? greedySearch(sources, vocab, opts, maxLength, process, run) : beamSearch(sources, vocab, opts, maxLength, process, run);
}

// ---- logits processors: GenerationMixin._get_logits_processor, in its order, for the options we expose ----

/** Applies the processors in place to one row's scores (raw logits in greedy, log-probs in beam search). */
type RowProcessor = (tokens: number[], scores: Float32Array) => void;

function logitsProcessor(o: DecodeOptions, maxLength: number, vocab: number): RowProcessor {
  const list: RowProcessor[] = [];
  const n = o.noRepeatNgramSize;
  if (n > 0) list.push((tokens, scores) => { for (const t of bannedNgramTokens(n, tokens)) scores[t] = -Infinity; }); // NoRepeatNGramLogitsProcessor
  if (o.badWordsIds.length > 0) {
    // NoBadWordsLogitsProcessor: drops [eos]; length-1 words are always banned, longer ones ban their last token after the rest
    const words = o.badWordsIds.filter((w) => !(w.length === 1 && w[0] === o.eosTokenId));
    const single = words.filter((w) => w.length === 1).map((w) => w[0]).filter((t) => t < vocab);
    const multi = words.filter((w) => w.length > 1);
    list.push((tokens, scores) => {
      for (const t of single) scores[t] = -Infinity;
      for (const w of multi) {
        const last = w[w.length - 1];
        if (last < vocab && endsWith(tokens, w, w.length - 1)) scores[last] = -Infinity;
      }
    });
  }
  if (o.minLength > 0) list.push((tokens, scores) => { if (tokens.length < o.minLength) scores[o.eosTokenId] = -Infinity; }); // MinLengthLogitsProcessor
  if (o.forcedBosTokenId !== null) list.push((tokens, scores) => { if (tokens.length === 1) forceToken(scores, o.forcedBosTokenId!); }); // ForcedBOSTokenLogitsProcessor
  if (o.forcedEosTokenId !== null) list.push((tokens, scores) => { if (tokens.length === maxLength - 1) forceToken(scores, o.forcedEosTokenId!); }); // ForcedEOSTokenLogitsProcessor
  return (tokens, scores) => { for (const p of list) p(tokens, scores); };
}

function forceToken(scores: Float32Array, id: number) {
  scores.fill(-Infinity);
  scores[id] = 0;
}

/** tokens ends with word[0..len) */
function endsWith(tokens: number[], word: number[], len: number): boolean {
  if (len > tokens.length) return false;
  for (let i = 0; i < len; i++) if (tokens[tokens.length - len + i] !== word[i]) return false;
  return true;
}

/** _calc_banned_ngram_tokens for one hypothesis: tokens that would repeat an n-gram already in `tokens` (start token included). */
function bannedNgramTokens(n: number, tokens: number[]): number[] {
  const curLen = tokens.length;
  if (curLen + 1 < n) return [];
  const banned: number[] = [];
  // the n-grams whose first n-1 tokens equal the last n-1 tokens (_get_ngrams + _get_generated_ngrams, without the dict)
  for (let i = 0; i + n <= curLen; i++) if (endsWith(tokens, tokens.slice(i, i + n - 1), n - 1)) banned.push(tokens[i + n - 1]);
  return banned;
}

// ---- greedy: GenerationMixin.greedy_search ----

async function greedySearch(sources: number, vocab: number, o: DecodeOptions, maxLength: number, process: RowProcessor, run: (rows: StepRow[]) => Promise<Float32Array>): Promise<Decoded> {
  const out: number[][] = Array.from({ length: sources }, () => []);
  // HF keeps finished rows and feeds them pad; their tokens never influence other rows, so we drop them instead.
  let rows: StepRow[] = Array.from({ length: sources }, (_, s) => ({ source: s, parent: null, tokens: [o.decoderStartTokenId] }));
  for (let curLen = 1; rows.length > 0; curLen++) {
    const logits = await run(rows);
    const next: StepRow[] = [];
    rows.forEach((row, i) => {
      const scores = logits.slice(i * vocab, (i + 1) * vocab);
      process(row.tokens, scores);
      const token = argmax(scores);
      out[row.source].push(token);
      if (token !== o.eosTokenId) next.push({ source: row.source, parent: i, tokens: [...row.tokens, token] });
    });
    if (curLen + 1 >= maxLength) break; // MaxLengthCriteria: input_ids.shape[-1] >= max_length
    rows = next;
  }
  return { sequences: out.map((seq) => [seq]) };
}

/** torch.argmax: the first maximal index. */
function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

// ---- beam search: GenerationMixin.beam_search + BeamSearchScorer ----

interface Beam { tokens: number[]; score: number; row: number } // row: this beam's index in the latest Step call
interface Hyp { score: number; tokens: number[]; eos: boolean }

/** BeamHypotheses: the n best finished hypotheses of one source. */
class BeamHypotheses {
  beams: Hyp[] = [];
  worstScore = 1e9;
  constructor(readonly numBeams: number, readonly lengthPenalty: number, readonly earlyStopping: boolean | "never") {}

  /** `tokens` are the hypothesis without its EOS (as HF passes input_ids): its length is what gets penalised. */
  add(tokens: number[], sumLogprobs: number, eos: boolean) {
    const score = sumLogprobs / tokens.length ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worstScore) {
      this.beams.push({ score, tokens, eos });
      if (this.beams.length > this.numBeams) {
        // sorted([(s, idx)]): the worst score goes, the lowest index among equals; the next one becomes the worst
        const order = this.beams.map((b, idx) => ({ s: b.score, idx })).sort((a, b) => a.s - b.s || a.idx - b.idx);
        this.beams.splice(order[0].idx, 1);
        this.worstScore = order[1].s;
      } else {
        this.worstScore = Math.min(score, this.worstScore);
      }
    }
  }

  isDone(bestSumLogprobs: number, curLen: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping) return true; // 4.26: truthiness, so "never" counts as true
    return this.worstScore >= bestSumLogprobs / curLen ** this.lengthPenalty;
  }
}

async function beamSearch(sources: number, vocab: number, o: DecodeOptions, maxLength: number, process: RowProcessor, run: (rows: StepRow[]) => Promise<Float32Array>): Promise<Decoded> {
  const nb = o.numBeams;
  const suppress = o.beamSuppressTokenIds ?? [];
  const state = Array.from({ length: sources }, (_, s) => ({
    // beam_scores: 0 for beam 0, -1e9 for the others, so the first step expands beam 0 only
    beams: Array.from({ length: nb }, (_, b): Beam => ({ tokens: [o.decoderStartTokenId], score: b === 0 ? 0 : f32(-1e9), row: s })),
    hyps: new BeamHypotheses(nb, o.lengthPenalty, o.earlyStopping),
    done: false,
  }));
  // The first call has one row per source: HF runs numBeams identical rows, whose logits we copy.
  let rows: StepRow[] = state.map((_, s) => ({ source: s, parent: null, tokens: [o.decoderStartTokenId] }));
  for (let curLen = 1; ; curLen++) {
    const logits = await run(rows);
    const logprobs = new Map<number, Float32Array>(); // per row; several beams share a row on the first step
    const rowLogprobs = (row: number, tokens: number[]) => {
      let lp = logprobs.get(row);
      if (!lp) {
        const x = logits.slice(row * vocab, (row + 1) * vocab);
        if (o.stepLogProbs) {
          // already normalised over every token: take the suppressed ones' mass out, as softmax without them would
          if (suppress.length) {
            let gone = 0;
            for (const t of suppress) gone += Math.exp(x[t]);
            const c = Math.log1p(-Math.min(gone, 1 - 1e-12));
            for (let i = 0; i < x.length; i++) x[i] = f32(x[i] - c);
            for (const t of suppress) x[t] = -Infinity;
          }
          lp = x;
        } else {
          for (const t of suppress) x[t] = -Infinity; // adjust_logits_during_generation
          lp = logSoftmax(x); // in place: x is this row's own copy
        }
        process(tokens, lp); // processors act on log-probs here
        logprobs.set(row, lp);
      }
      return lp;
    };
    for (const st of state) {
      if (st.done) continue;
      const lps = st.beams.map((b) => rowLogprobs(b.row, b.tokens));
      // next_token_scores = processed log-probs + beam_scores (float32), then topk(2 * num_beams) over beams × vocab
      const top = topKBeams(2 * nb, lps, st.beams.map((b) => b.score));
      // BeamSearchScorer.process
      const next: Beam[] = [];
      for (let rank = 0; rank < top.length && next.length < nb; rank++) {
        const { index, value } = top[rank];
        const parent = st.beams[(index / vocab) | 0];
        const token = index % vocab;
        if (token === o.eosTokenId) {
          if (rank >= nb) continue; // an EOS outside the top num_beams is not a hypothesis
          st.hyps.add(parent.tokens, value, true);
        } else {
          next.push({ tokens: [...parent.tokens, token], score: value, row: parent.row });
        }
      }
      if (next.length < nb) throw new Error(`beam search: fewer than ${nb} non-EOS candidates among the top ${2 * nb}`); // as process() raises
      st.beams = next;
      st.done = st.hyps.isDone(top[0].value, curLen);
    }
    if (curLen + 1 >= maxLength || state.every((st) => st.done)) break;
    // Only sources still searching cost work: a done source's beams are never looked at again (HF keeps feeding
    // them pad with score 0, and finalize skips them).
    const nextRows: StepRow[] = [];
    for (const [s, st] of state.entries()) {
      if (st.done) continue;
      for (const b of st.beams) {
        nextRows.push({ source: s, parent: b.row, tokens: b.tokens });
        b.row = nextRows.length - 1;
      }
    }
    rows = nextRows;
  }
  // BeamSearchScorer.finalize: unfinished sources add their live beams (no EOS), then the best n are kept
  const sequences: number[][][] = [];
  const scores: number[][] = [];
  for (const st of state) {
    if (!st.done) for (const b of st.beams) st.hyps.add(b.tokens, b.score, false);
    // sorted(key=score) is stable and pop() takes from the end: among equal scores the later-added comes first
    const sorted = st.hyps.beams.map((h, i) => ({ h, i })).sort((a, b) => a.h.score - b.h.score || a.i - b.i);
    const best = sorted.reverse().slice(0, o.numReturnSequences).map(({ h }) => h);
    sequences.push(best.map((h) => [...h.tokens.slice(1), ...(h.eos ? [o.eosTokenId] : [])]));
    scores.push(best.map((h) => f32(h.score))); // sequence_scores is a float32 tensor
  }
  return { sequences, scores };
}

/** log_softmax in float32, in place: x - (max + log(sum(exp(x - max)))), the log-sum-exp taken in float64 and rounded once. */
function logSoftmax(x: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i] - max);
  const lse = f32(max + Math.log(sum));
  for (let i = 0; i < x.length; i++) x[i] -= lse; // Float32Array stores round to float32
  return x;
}

/**
 * torch.topk(largest, sorted) of next_token_scores = logprobs[beam][token] + beamScores[beam] (float32) over the flat
 * index beam * vocab + token; exact ties go to the lower index (see the header on torch's ties).
 */
function topKBeams(k: number, logprobs: Float32Array[], beamScores: number[]): { index: number; value: number }[] {
  const top: { index: number; value: number }[] = [];
  let worst = -Infinity; // the k-th value once there are k: a candidate must beat it
  for (let b = 0; b < logprobs.length; b++) {
    const lp = logprobs[b];
    const score = beamScores[b];
    const vocab = lp.length;
    for (let t = 0; t < vocab; t++) {
      const v = f32(lp[t] + score);
      if (top.length === k && !(v > worst)) continue;
      let p = top.length === k ? k - 1 : top.length;
      while (p > 0 && top[p - 1].value < v) p--;
      if (top.length === k) top.pop();
      top.splice(p, 0, { index: b * vocab + t, value: v });
      if (top.length === k) worst = top[k - 1].value;
    }
  }
  return top;
}
