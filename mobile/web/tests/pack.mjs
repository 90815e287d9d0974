// Reads DNG files with dng.js and packs them with pipeline.js, as the page does, for the
// Python test that compares against keras_lowlight:  node tests/pack.mjs out.json a.dng b.dng …
import {readFileSync, writeFileSync} from 'node:fs';
import {readDng} from '../dng.js';
import {amplificationRatio, autoRatio, packBayer} from '../pipeline.js';

const [outPath, contractPath, ...files] = process.argv.slice(2);
const pre = JSON.parse(readFileSync(contractPath, 'utf8')).preprocessing;
const results = {};
for (const file of files) {
  const bytes = readFileSync(file);
  const dng = readDng(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const ratio = amplificationRatio(dng, file, pre);
  const packed = packBayer(dng, ratio, pre);
  let auto;
  try { auto = autoRatio(dng, pre); } catch (e) { auto = String(e.message); }
  results[file] = {ratio, auto, cfa: dng.cfaPattern, height: packed.height, width: packed.width,
                   data: Array.from(packed.data)};
}
writeFileSync(outPath, JSON.stringify(results));
