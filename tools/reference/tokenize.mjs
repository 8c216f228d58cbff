// Tokenize inputs with the npm @huggingface/tokenizers package (the Python tokenizers lib is not
// available here). stdin: {"tokenizer_dir": "...", "inputs": [text | [a, b], ...]}
// stdout: [{"input_ids": [...], "token_type_ids": [...]}, ...]   (no truncation, no padding)
import fs from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

const req = JSON.parse(fs.readFileSync(0, "utf8"));
const tj = JSON.parse(fs.readFileSync(path.join(req.tokenizer_dir, "tokenizer.json"), "utf8"));
const tcPath = path.join(req.tokenizer_dir, "tokenizer_config.json");
const tc = fs.existsSync(tcPath) ? JSON.parse(fs.readFileSync(tcPath, "utf8")) : {};
const tok = new Tokenizer(tj, tc);
const out = req.inputs.map((inp) => {
  const [a, b] = Array.isArray(inp) ? inp : [inp, null];
  const enc = tok.encode(a, { text_pair: b, return_token_type_ids: true });
  return { input_ids: Array.from(enc.ids).map(Number), token_type_ids: Array.from(enc.token_type_ids ?? []).map(Number) };
});
process.stdout.write(JSON.stringify(out));
