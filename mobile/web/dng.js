// Minimal DNG (TIFF/EP CFA) reader: enough for uncompressed 16-bit CFA DNGs such as those
// `keras_lowlight.runtime.dng.write_dng` writes and many phones' RAW_SENSOR exports.
// Tags: Adobe DNG 1.4 specification; TIFF 6.0 for the container.

const TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4};

export class DngError extends Error {}

function readValues(view, little, type, count, offset) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const at = offset + i * TYPE_SIZE[type];
    switch (type) {
      case 1: case 7: out.push(view.getUint8(at)); break;
      case 2: out.push(view.getUint8(at)); break;
      case 6: out.push(view.getInt8(at)); break;
      case 3: out.push(view.getUint16(at, little)); break;
      case 8: out.push(view.getInt16(at, little)); break;
      case 4: case 13: out.push(view.getUint32(at, little)); break;
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
  if (offset < 8 || offset + 2 > view.byteLength) throw new DngError('truncated file (IFD past the end)');
  const tags = new Map();
  const n = view.getUint16(offset, little);
  if (offset + 2 + n * 12 + 4 > view.byteLength) throw new DngError('truncated file (IFD past the end)');
  for (let i = 0; i < n; i++) {
    const entry = offset + 2 + i * 12;
    const tag = view.getUint16(entry, little);
    const type = view.getUint16(entry + 2, little);
    const count = view.getUint32(entry + 4, little);
    if (!(type in TYPE_SIZE)) continue;
    const size = TYPE_SIZE[type] * count;
    const at = size <= 4 ? entry + 8 : view.getUint32(entry + 8, little);
    if (at + size > view.byteLength) throw new DngError('truncated file (tag data past the end)');
    if (type === 2 || count > (1 << 20)) continue;  // text, or an array no tag we read can be
    tags.set(tag, readValues(view, little, type, count, at));
  }
  return {tags, next: view.getUint32(offset + 2 + n * 12, little)};
}

// TIFF FillOrder 1: `bits`-bit samples packed MSB-first, each row starting on a byte.
function unpackRow(bytes, rowStart, bits, count, out, dst) {
  let bitPos = rowStart * 8;
  const mask = (1 << bits) - 1;
  for (let x = 0; x < count; x++) {
    const byte = bitPos >> 3, shift = bitPos & 7;
    const window = ((bytes[byte] ?? 0) << 16) | ((bytes[byte + 1] ?? 0) << 8) | (bytes[byte + 2] ?? 0);
    out[dst + x] = (window >>> (24 - shift - bits)) & mask;
    bitPos += bits;
  }
}

// The whole stored image (before the ActiveArea crop) from strips or tiles.
function decode(buffer, view, little, raw, width, height, bits) {
  if (Math.ceil(width * bits / 8) * height > buffer.byteLength) throw new DngError('truncated file (image data past the end)');
  const out = new Uint16Array(width * height);
  const bytes = new Uint8Array(buffer);
  const tiled = raw.has(324);
  const offsets = raw.get(tiled ? 324 : 273), counts = raw.get(tiled ? 325 : 279);
  if (!offsets || !counts || offsets.length !== counts.length) throw new DngError('missing image data offsets');
  const blockWidth = tiled ? raw.get(322)?.[0] : width;
  const blockHeight = tiled ? raw.get(323)?.[0] : (raw.get(278)?.[0] ?? height);
  if (!(blockWidth > 0 && blockHeight > 0) || blockWidth * blockHeight > 2 ** 28) throw new DngError('bad strip or tile size');
  const across = tiled ? Math.ceil(width / blockWidth) : 1;
  const down = Math.ceil(height / blockHeight);
  if (offsets.length < across * down) throw new DngError(`truncated file (${offsets.length} of ${across * down} image blocks)`);
  const rowBytes = Math.ceil(blockWidth * bits / 8);
  for (let block = 0; block < across * down; block++) {
    const y0 = Math.floor(block / across) * blockHeight, x0 = (block % across) * blockWidth;
    const rows = Math.min(blockHeight, height - y0), cols = Math.min(blockWidth, width - x0);
    if (offsets[block] + counts[block] > buffer.byteLength) throw new DngError('truncated file (image data past the end)');
    if (rowBytes * rows > counts[block]) throw new DngError('truncated image data');
    for (let y = 0; y < rows; y++) {
      const rowStart = offsets[block] + y * rowBytes, dst = (y0 + y) * width + x0;
      if (bits === 16) for (let x = 0; x < cols; x++) out[dst + x] = view.getUint16(rowStart + 2 * x, little);
      else if (bits === 8) for (let x = 0; x < cols; x++) out[dst + x] = bytes[rowStart + x];
      else unpackRow(bytes, rowStart, bits, cols, out, dst);
    }
  }
  return out;
}

function roll(pattern, period, dy, dx) {
  let out = '';
  for (let y = 0; y < period; y++) {
    for (let x = 0; x < period; x++) out += pattern[((y + dy) % period) * period + (x + dx) % period];
  }
  return out;
}

/** Parses a DNG ArrayBuffer → {width, height, mosaic: Uint16Array, cfaPattern: 'RGGB'…,
 *  blackLevels: number[] per CFA site, whiteLevel, exposureTime|null, asShotNeutral|null,
 *  colorMatrix: number[9]|null (ColorMatrix1, XYZ → camera)}.
 *  The same reader as the Android sample's core (mobile/android/core, Dng.kt): IFD chain and
 *  SubIFDs, strips or tiles, 8–16-bit samples, ActiveArea cropped by LibRaw's conventions (an odd
 *  margin of a 2×2 CFA moves to the next even offset; X-Trans is cropped exactly). Exposure as
 *  LibRaw reads it: ExposureTime, else 2^-ShutterSpeedValue. */
export function readDng(buffer) {
  if (buffer.byteLength < 8) throw new DngError('not a DNG: file too small');
  const view = new DataView(buffer);
  const order = String.fromCharCode(view.getUint8(0), view.getUint8(1));
  if (order !== 'II' && order !== 'MM') throw new DngError('not a TIFF/DNG file');
  const little = order === 'II';
  if (view.getUint16(2, little) !== 42) throw new DngError('not a TIFF/DNG file (bad magic)');
  // IFD0 and its chain, then their SubIFDs (DNG converters put the raw image there).
  const ifds = [], pending = [];
  let offset = view.getUint32(4, little);
  for (let guard = 0; offset && guard < 16; guard++) {
    const ifd = readIfd(view, little, offset);
    ifds.push(ifd.tags);
    for (const sub of ifd.tags.get(330) ?? []) pending.push(sub);
    offset = ifd.next;
  }
  for (const sub of pending.slice(0, 16)) ifds.push(readIfd(view, little, sub).tags);
  const ifd0 = ifds[0];
  if (!ifd0) throw new DngError('not a TIFF/DNG file (no image directory)');
  let exif = new Map();  // a broken EXIF pointer costs only the exposure time, as in LibRaw
  try { if (ifd0.has(34665)) exif = readIfd(view, little, ifd0.get(34665)[0]).tags; } catch (e) { if (!(e instanceof DngError)) throw e; }
  const raw = ifds.find((tags) => tags.get(262)?.[0] === 32803);
  if (!raw) throw new DngError('no CFA image in this DNG (linear DNGs are not supported)');
  const fullWidth = raw.get(256)?.[0], fullHeight = raw.get(257)?.[0];
  if (!fullWidth || !fullHeight) throw new DngError('missing ImageWidth in the CFA image');
  if (fullWidth * fullHeight > 2 ** 28) throw new DngError(`implausible image size ${fullWidth}x${fullHeight}`);
  const bits = raw.get(258)?.[0] ?? 1;
  const compression = raw.get(259)?.[0] ?? 1;
  if (compression !== 1) throw new DngError(`only uncompressed DNGs are supported (Compression=${compression})`);
  if (bits < 8 || bits > 16) throw new DngError(`only 8- to 16-bit CFA data is supported (BitsPerSample=${bits})`);
  if ((raw.get(277)?.[0] ?? 1) !== 1) throw new DngError('only one sample per pixel is supported in a CFA image');
  if (raw.has(50712)) throw new DngError('DNGs with a LinearizationTable are not supported');
  const dims = raw.get(33421) ?? [2, 2];
  const codes = raw.get(33422);
  if (!codes) throw new DngError('missing CFAPattern');
  const period = dims[0] ?? 0;
  if (dims.length !== 2 || dims[1] !== period || (period !== 2 && period !== 6) || codes.length !== period * period) {
    throw new DngError(`unsupported CFA: ${dims.join('x')} pattern (2x2 Bayer or 6x6 X-Trans only)`);
  }
  for (const c of codes) if (c > 2) throw new DngError(`unsupported CFA colour code ${c} (R, G, B only)`);
  const full = decode(buffer, view, little, raw, fullWidth, fullHeight, bits);
  const area = raw.get(50829) ?? [0, 0, fullHeight, fullWidth];
  if (area.length !== 4 || area[0] < 0 || area[1] < 0) throw new DngError(`bad ActiveArea ${area}`);
  const [areaTop, areaLeft, areaBottom, areaRight] = area;
  // The pattern is relative to the ActiveArea origin; LibRaw crops a 2×2 CFA at even offsets.
  const shiftY = period === 2 ? areaTop & 1 : 0, shiftX = period === 2 ? areaLeft & 1 : 0;
  const top = areaTop + shiftY, left = areaLeft + shiftX;
  const width = Math.min(areaRight, fullWidth) - left, height = Math.min(areaBottom, fullHeight) - top;
  if (width <= 0 || height <= 0) throw new DngError('empty ActiveArea');
  const mosaic = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) mosaic.set(full.subarray((top + y) * fullWidth + left, (top + y) * fullWidth + left + width), y * width);
  const cfaPattern = roll(codes.map((c) => 'RGB'[c]).join(''), period, shiftY, shiftX);
  const black = raw.get(50714) ?? [0];
  const [ry = 1, rx = 1] = (raw.get(50713) ?? [1, 1]).map((v) => Math.max(1, v));
  if (black.length < ry * rx) throw new DngError(`BlackLevel has ${black.length} values for a ${ry}x${rx} repeat`);
  const blackLevels = Array.from({length: period * period}, (_, site) => {
    const y = Math.floor(site / period) + shiftY, x = (site % period) + shiftX;
    return black[(y % ry) * rx + (x % rx)];
  });
  const whiteLevel = raw.get(50717)?.[0] ?? 2 ** bits - 1;
  if (blackLevels.some((b) => !Number.isFinite(b) || b < 0)) throw new DngError(`bad BlackLevel ${blackLevels}`);
  if (!Number.isFinite(whiteLevel)) throw new DngError(`bad WhiteLevel ${whiteLevel}`);
  const maxBlack = Math.max(...blackLevels);
  if (whiteLevel <= maxBlack) throw new DngError(`white level ${whiteLevel} not above black level ${maxBlack}`);
  // As LibRaw: ExposureTime, else the APEX ShutterSpeedValue 2^-v.
  let exposure = (raw.get(33434) ?? ifd0.get(33434) ?? exif.get(33434))?.[0] ?? 0;
  const apex = (raw.get(37377) ?? ifd0.get(37377) ?? exif.get(37377))?.[0];
  if (!(exposure > 0) && apex !== undefined && -apex < 128) exposure = 2 ** -apex;
  const neutral = raw.get(50728) ?? ifd0.get(50728);
  const colorMatrix = raw.get(50721) ?? ifd0.get(50721);  // ColorMatrix1: XYZ → camera, row-major 3×3
  return {
    width, height, mosaic, cfaPattern, blackLevels, whiteLevel,
    // LibRaw keeps the shutter time as a float; the same rounding keeps ratios equal to Python's.
    exposureTime: exposure > 0 ? Math.fround(exposure) : null,
    asShotNeutral: neutral?.length === 3 ? neutral : null,
    colorMatrix: colorMatrix?.length === 9 && colorMatrix.every(Number.isFinite) ? colorMatrix : null,
  };
}
