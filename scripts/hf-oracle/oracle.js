#!/usr/bin/env node
// Oracle for bertbench's Go tokenizer: runs Hugging Face `tokenizers` (the
// Rust library, through its official Node binding) the way the BERTScore
// reference pipeline does: Python str.strip() -> encode with special tokens ->
// truncate to 512 ids (longest_first, right).
//
// Usage:
//   node oracle.js serve
//       Reads one JSON request per line on stdin:
//         {"tokenizer": "/abs/path/tokenizer.json", "texts": ["...", ...]}
//       and writes one JSON line per request on stdout:
//         {"ids": [[101, ...], ...]}   or   {"error": "message"}
//   node oracle.js bench TOKENIZER_JSON TEXTS_JSON [SECONDS]
//       Encodes the texts (a JSON array of strings) repeatedly for about
//       SECONDS (default 5) with encodeBatch and prints throughput as JSON.
//       Set RAYON_NUM_THREADS=1 to measure a single core.
'use strict';

const { Tokenizer } = require('tokenizers');
const readline = require('readline');
const fs = require('fs');

const MAX_LEN = 512;

// Python's str.isspace() set; str.strip() removes these from both ends.
const PY_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0,
  0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007,
  0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

// pyStrip mirrors Python's str.strip() with no arguments. All members of
// PY_SPACE are in the BMP, so UTF-16 code units can be tested directly.
function pyStrip(s) {
  let i = 0;
  let j = s.length;
  while (i < j && PY_SPACE.has(s.charCodeAt(i))) i++;
  while (j > i && PY_SPACE.has(s.charCodeAt(j - 1))) j--;
  return s.slice(i, j);
}

const cache = new Map();

function load(path) {
  let tok = cache.get(path);
  if (!tok) {
    tok = Tokenizer.fromFile(path);
    tok.setTruncation(MAX_LEN);
    tok.disablePadding();
    cache.set(path, tok);
  }
  return tok;
}

async function encodeAll(tok, texts) {
  const encs = await tok.encodeBatch(texts.map(pyStrip), { addSpecialTokens: true });
  return encs.map((e) => e.getIds());
}

async function serve() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let out;
    try {
      const req = JSON.parse(line);
      out = { ids: await encodeAll(load(req.tokenizer), req.texts) };
    } catch (err) {
      out = { error: String(err && err.message ? err.message : err) };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }
}

async function bench(tokPath, textsPath, seconds) {
  const tok = load(tokPath);
  const texts = JSON.parse(fs.readFileSync(textsPath, 'utf8'));
  await encodeAll(tok, texts); // warm-up
  let strings = 0;
  let tokens = 0;
  let rounds = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    const ids = await encodeAll(tok, texts);
    for (const x of ids) tokens += x.length;
    strings += ids.length;
    rounds++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const result = {
    tokenizer: tokPath,
    rounds,
    strings,
    tokens,
    seconds: elapsed,
    strings_per_s: strings / elapsed,
    tokens_per_s: tokens / elapsed,
    rayon_num_threads: process.env.RAYON_NUM_THREADS || 'default',
    node: process.version,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'serve') return serve();
  if (mode === 'bench' && args.length >= 2) {
    return bench(args[0], args[1], args[2] ? Number(args[2]) : 5);
  }
  process.stderr.write('usage: oracle.js serve | oracle.js bench TOKENIZER_JSON TEXTS_JSON [SECONDS]\n');
  process.exit(2);
}

main().catch((err) => {
  process.stderr.write(`oracle: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
