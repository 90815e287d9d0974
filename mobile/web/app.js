// The page: contract → model → DNG → pack → tiles through LiteRT.js → canvases.
import {loadLiteRt, loadAndCompile, Tensor} from '@litertjs/core';
import {readDng} from './dng.js';
import {amplificationRatio, autoRatio, enhanceFrame, packBayer, previewBefore, renderPackedBayer, toImageData} from './pipeline.js';

const status = document.getElementById('status');
const say = (text) => { status.textContent = text; };
const params = new URLSearchParams(location.search);

let contract = null;
const compiled = new Map();

async function compiledModel(entry, accelerator) {
  const key = `${entry.file}|${accelerator}`;
  if (!compiled.has(key)) {
    compiled.set(key, await loadAndCompile(`/${entry.file}`, {accelerator}));
  }
  return compiled.get(key);
}

function draw(canvasId, imageData) {
  const canvas = document.getElementById(canvasId);
  canvas.width = imageData.width;
  canvas.height = imageData.height;
  canvas.getContext('2d').putImageData(imageData, 0, 0);
}

async function enhance(buffer, name) {
  const entry = contract.models.find((m) => m.file === document.getElementById('model').value);
  let accelerator = document.getElementById('accelerator').value;
  if (accelerator === 'webgpu' && !navigator.gpu) accelerator = 'wasm';
  const dng = readDng(buffer);
  // ?ratio=N wins; ?ratio=auto or any file without a SID name: estimated from the frame (the
  // contract's rule); a SID file name: SID's ratio from its exposure.
  const asked = Number(params.get('ratio'));
  const ratio = asked > 0 ? Math.min(asked, contract.preprocessing.ratio.max)
    : params.get('ratio') === 'auto' ? autoRatio(dng, contract.preprocessing)
    : amplificationRatio(dng, name, contract.preprocessing);
  const packed = packBayer(dng, ratio, contract.preprocessing);
  draw('before', previewBefore(packed, dng.asShotNeutral));
  say(`compiling ${entry.file} (${accelerator})…`);
  const model = await compiledModel(entry, accelerator);
  // LiteRT.js compiles one input shape: the model's static tile, used as is even for small frames.
  const tiling = {tile: entry.tile.size, overlap: entry.tile.overlap, multiple: entry.tile.multiple,
                  scale: entry.scale, shrink: false, outChannels: entry.output.channels};
  const runTile = async (data, h, w) => {
    const input = new Tensor(new Float32Array(data), [1, h, w, entry.input.channels]);
    const outputs = await model.run(entry.signature, {[entry.input.name]: input});
    input.delete();
    const output = outputs[entry.output.name];
    const cpu = await output.moveTo('wasm');
    const values = new Float32Array(cpu.toTypedArray());
    cpu.delete();
    if (output !== cpu && !output.deleted) output.delete();
    return values;
  };
  const start = performance.now();
  let result = await enhanceFrame(packed, runTile, tiling, (i, n) => say(`tile ${i}/${n}…`));
  if ((entry.head ?? 'srgb') === 'raw') {  // the clean packed RAW: rendered with the file's own colour
    result = renderPackedBayer({...result, channels: 4}, dng.cfaPattern, dng.asShotNeutral, dng.colorMatrix);
  }
  const ms = performance.now() - start;
  draw('after', toImageData(result));
  const mp = (result.width * result.height) / 1e6;
  say(`${name}: ${dng.width}×${dng.height} ${dng.cfaPattern}, ×${ratio.toFixed(0)}, ` +
      `${ms.toFixed(0)} ms (${(ms / mp).toFixed(0)} ms per output MP) on ${accelerator}`);
  window.__lowlightResult = {width: result.width, height: result.height, ratio, ms, data: Array.from(result.data)};
  window.__lowlightDone = true;
}

async function main() {
  contract = await (await fetch('/mobile/MODEL_CONTRACT.json')).json();
  const select = document.getElementById('model');
  for (const m of contract.models.filter((m) => m.cfa === 'bayer' && m.input.shape[1] > 0)) {
    select.add(new Option(`${m.file} (${m.quantization})`, m.file));
  }
  if (params.get('model')) select.value = params.get('model');
  await loadLiteRt('/mobile/web/node_modules/@litertjs/core/wasm/');
  say('ready: pick a DNG or run the sample');
  const run = (promise) => promise.catch((e) => { say(`error: ${e.message}`); window.__lowlightError = String(e); });
  document.getElementById('sample').onclick = () => run(
    fetch('/mobile/web/sample.dng').then((r) => r.arrayBuffer()).then((b) => enhance(b, 'sample.dng')));
  document.getElementById('file').onchange = (event) => {
    const file = event.target.files[0];
    if (file) run(file.arrayBuffer().then((b) => enhance(b, file.name)));
  };
  if (params.has('autorun')) document.getElementById('sample').click();
}

main().catch((e) => { say(`error: ${e.message}`); window.__lowlightError = String(e); });
