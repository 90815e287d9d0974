// The shared fixture table (tests/reader_fixtures.py) through the web client's reader and packing,
// exactly as the page runs them; verdicts go to a JSON file for tests/test_android_core.py.
//   node tests/verdicts.mjs out.json MODEL_CONTRACT.json manifest.json
import {readFileSync, writeFileSync} from 'node:fs';
import {readDng} from '../dng.js';
import {amplificationRatio, packBayer} from '../pipeline.js';

const [outPath, contractPath, manifestPath] = process.argv.slice(2);
const pre = JSON.parse(readFileSync(contractPath, 'utf8')).preprocessing;
const verdicts = {};
for (const fixture of JSON.parse(readFileSync(manifestPath, 'utf8')).verdicts) {
  try {
    const bytes = readFileSync(fixture.dng);
    const dng = readDng(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const ratio = amplificationRatio(dng, fixture.file_name, pre);
    const packed = packBayer(dng, ratio, pre);
    verdicts[fixture.name] = {ok: true, cfa: dng.cfaPattern, ratio, shape: [packed.height, packed.width, packed.channels]};
  } catch (e) {
    verdicts[fixture.name] = {ok: false, error: e.message};
  }
}
writeFileSync(outPath, JSON.stringify(verdicts));
