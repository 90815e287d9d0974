// Minimal DNG (TIFF/EP CFA) reader: enough for uncompressed 16-bit CFA DNGs such as those
// `keras_lowlight.dng.write_dng` writes and many phones' RAW_SENSOR exports.
// Tags: Adobe DNG 1.4 specification; TIFF 6.0 for the container.

const TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8, 11: 4, 12: 8};

export class DngError extends Error {}

function readValues(view, little, type, count, offset) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const at = offset + i * TYPE_SIZE[type];
    switch (type) {
      case 1: case 7: out.push(view.getUint8(at)); break;
      case 2: out.push(view.getUint8(at)); break;
      case 3: out.push(view.getUint16(at, little)); break;
      case 4: out.push(view.getUint32(at, little)); break;
      case 9: out.push(view.getInt32(at, little)); break;
      case 5: out.push(view.getUint32(at, little) / view.getUint32(at + 4, little)); break;
      case 10: out.push(view.getInt32(at, little) / view.getInt32(at + 4, little)); break;
      case 11: out.push(view.getFloat32(at, little)); break;
      case 12: out.push(view.getFloat64(at, little)); break;
      default: throw new DngError(`unsupported TIFF type ${type}`);
    }
  }
  return out;
}

function readIfd(view, little, offset) {
  const tags = new Map();
  const n = view.getUint16(offset, little);
  for (let i = 0; i < n; i++) {
    const entry = offset + 2 + i * 12;
    const tag = view.getUint16(entry, little);
    const type = view.getUint16(entry + 2, little);
    const count = view.getUint32(entry + 4, little);
    if (!(type in TYPE_SIZE)) continue;
    const size = TYPE_SIZE[type] * count;
    const at = size <= 4 ? entry + 8 : view.getUint32(entry + 8, little);
    if (at + size > view.byteLength) throw new DngError('truncated file (tag data past the end)');
    tags.set(tag, readValues(view, little, type, count, at));
  }
  return {tags, next: view.getUint32(offset + 2 + n * 12, little)};
}

/** Parses a DNG ArrayBuffer → {width, height, mosaic: Uint16Array, cfaPattern: 'RGGB'…,
 *  blackLevels: number[] per CFA site, whiteLevel, exposureTime|null, asShotNeutral|null}. */
export function readDng(buffer) {
  if (buffer.byteLength < 8) throw new DngError('not a DNG: file too small');
  const view = new DataView(buffer);
  const order = String.fromCharCode(view.getUint8(0), view.getUint8(1));
  if (order !== 'II' && order !== 'MM') throw new DngError('not a TIFF/DNG file');
  const little = order === 'II';
  if (view.getUint16(2, little) !== 42) throw new DngError('not a TIFF/DNG file (bad magic)');
  // Find the IFD holding the CFA image (IFD0 in our files; walk the chain otherwise).
  let offset = view.getUint32(4, little);
  let raw = null;
  for (let guard = 0; offset && guard < 16; guard++) {
    const ifd = readIfd(view, little, offset);
    if (ifd.tags.get(262)?.[0] === 32803) { raw = ifd.tags; break; }
    offset = ifd.next;
  }
  if (!raw) throw new DngError('no CFA image in this DNG (linear DNGs are not supported)');
  const width = raw.get(256)[0], height = raw.get(257)[0];
  if ((raw.get(258)?.[0] ?? 16) !== 16) throw new DngError('only 16-bit CFA data is supported');
  if ((raw.get(259)?.[0] ?? 1) !== 1) throw new DngError('only uncompressed DNGs are supported');
  const [py, px] = raw.get(33421) ?? [2, 2];
  const codes = raw.get(33422);
  if (!codes || codes.length !== py * px) throw new DngError('missing CFAPattern');
  const cfaPattern = codes.map((c) => 'RGB'[c]).join('');
  const offsets = raw.get(273), counts = raw.get(279);
  const mosaic = new Uint16Array(width * height);
  let k = 0;
  for (let s = 0; s < offsets.length; s++) {
    if (offsets[s] + counts[s] > buffer.byteLength) throw new DngError('truncated file (image data past the end)');
    const strip = new DataView(buffer, offsets[s], counts[s]);
    for (let b = 0; b + 1 < counts[s] && k < mosaic.length; b += 2) mosaic[k++] = strip.getUint16(b, little);
  }
  if (k !== mosaic.length) throw new DngError('truncated image data');
  let black = raw.get(50714) ?? [0];
  const sites = py * px;
  const blackLevels = black.length === sites ? black : Array.from({length: sites}, () => black[0]);
  return {
    width, height, mosaic, cfaPattern, blackLevels,
    whiteLevel: raw.get(50717)?.[0] ?? 65535,
    exposureTime: raw.get(33434)?.[0] ?? null,
    asShotNeutral: raw.get(50728) ?? null,
  };
}
