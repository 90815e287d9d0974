// Seeded mutations of valid DNGs through the web client's reader and packing, as FuzzTest.kt does
// for the Android core: every file is read or refused with a DngError (one line), nothing else.
//   node tests/fuzz.mjs CASES a.dng b.dng …   → prints {read, rejected, other}
import {readFileSync} from 'node:fs';
import {DngError, readDng} from '../dng.js';
import {packBayer} from '../pipeline.js';

const [cases, ...files] = process.argv.slice(2);
const bases = files.map((f) => readFileSync(f));
let state = 17;
const random = (n) => {  // mulberry32
  state = (state + 0x6D2B79F5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) % n;
};
const result = {read: 0, rejected: 0, other: {}};
for (let c = 0; c < Number(cases); c++) {
  let bytes = Buffer.from(bases[c % bases.length]);
  const kind = random(4);
  if (kind === 0) bytes = bytes.subarray(0, random(bytes.length));
  else {
    for (let i = 0, n = 1 + random(8); i < n; i++) {
      bytes[random(kind === 3 ? bytes.length : Math.min(400, bytes.length))] = kind === 2 ? (random(2) ? 255 : 0) : random(256);
    }
  }
  try {
    const dng = readDng(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    if (dng.cfaPattern.length === 4) packBayer(dng, 100, {ratio: {max: 300}});
    result.read++;
  } catch (e) {
    // DngError from the reader, or the packer's one-line refusal of a non-Bayer pattern.
    const known = e instanceof DngError || e.message.startsWith('unsupported CFA');
    if (known && !e.message.includes('\n')) result.rejected++;
    else {
      const key = `${e.constructor.name}: ${e.message}`.slice(0, 120);
      result.other[key] = (result.other[key] ?? 0) + 1;
    }
  }
}
console.log(JSON.stringify(result));
