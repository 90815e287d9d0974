// Renders packed RAW (a RAW-head model's output) with pipeline.js, and tiles it with a stand-in
// RAW-head "model", for the Python test comparing against keras_lowlight.isp / runtime:
//   node tests/render.mjs in.json out.json
import {readFileSync, writeFileSync} from 'node:fs';
import {enhanceFrame, renderPackedBayer} from '../pipeline.js';

const [inPath, outPath] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(inPath, 'utf8'));
const results = {};
for (const [name, c] of Object.entries(cases)) {
  const packed = {data: Float32Array.from(c.packed), height: c.height, width: c.width, channels: 4};
  const rendered = renderPackedBayer(packed, c.cfa, c.as_shot_neutral, c.color_matrix);
  // A stand-in RAW-head model: out = 0.5 · in + 0.01 (scale 1, 4 channels), through the tiler.
  const tiled = await enhanceFrame(packed, async (t) => t.map((v) => 0.5 * v + 0.01),
                                   {tile: 16, overlap: 4, multiple: 2, scale: 1, shrink: true, outChannels: 4});
  results[name] = {rendered: Array.from(rendered.data), height: rendered.height, width: rendered.width,
                   tiled: Array.from(tiled.data), tiled_shape: [tiled.height, tiled.width, tiled.channels]};
}
writeFileSync(outPath, JSON.stringify(results));
