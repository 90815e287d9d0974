// Packing, normalisation and tiling exactly as keras_lowlight does it in Python
// (keras_lowlight/runtime/packing.py, raw.py, enhance.py, runtime.py), driven by MODEL_CONTRACT.json.

/** Canonical Bayer packing offsets [R, G1, B, G2] (G1 on the red row) for a 2×2 pattern. */
export function bayerOffsets(pattern) {
  if (!['RGGB', 'BGGR', 'GRBG', 'GBRG'].includes(pattern)) {
    throw new Error(`unsupported CFA ${pattern} (the web client packs 2×2 Bayer only)`);
  }
  const at = (c) => { const i = pattern.indexOf(c); return [i >> 1, i & 1]; };
  const [ry, rx] = at('R'), [by, bx] = at('B');
  return [[ry, rx], [ry, 1 - rx], [by, bx], [by, 1 - bx]];
}

const SID_NAME = /^\d{5}_\d{2}_(\d+(?:\.\d+)?)s\.[A-Za-z0-9]+$/;

/** Exposure in seconds from a SID file name (`00001_00_0.04s.ARW` → 0.04), else null
 *  (keras_lowlight.runtime.raw.exposure_from_name). */
export function exposureFromName(fileName) {
  const match = SID_NAME.exec(String(fileName ?? '').split(/[\\/]/).pop());
  return match ? parseFloat(match[1]) : null;
}

/** The amplification ratio (the contract's `ratio`, keras_lowlight.runtime.enhance.amplification_ratio):
 *  a SID file name gives target exposure / its exposure, capped; any other file gets the
 *  automatic ratio (an exposure time from the file's tags alone does not decide). */
export function amplificationRatio(dng, fileName, pre) {
  const exposure = exposureFromName(fileName);
  if (exposure > 0) {
    return Math.min(Math.max(pre.ratio.default_target_exposure_s / exposure, 1), pre.ratio.max);
  }
  return autoRatio(dng, pre);
}

/** The automatic ratio (the contract's `ratio.auto`, keras_lowlight/runtime/exposure.py): level =
 *  (x − black[site]) / (white − black[site]) unclipped; the median of the means of level over
 *  whole block × block squares; ratio = target_signal / median within [1, max] (max when the
 *  median is not positive); a frame whose whole-mosaic mean level is at most `no_signal_level`
 *  has no usable signal and is refused. */
export function autoRatio(dng, pre) {
  const auto = pre.ratio.auto;
  const period = Math.round(Math.sqrt(dng.blackLevels.length));
  const block = auto.block;
  const rows = Math.floor(dng.height / block), cols = Math.floor(dng.width / block);
  const small = rows === 0 || cols === 0;
  const sums = new Float64Array(small ? 1 : rows * cols);
  let total = 0;
  for (let y = 0; y < dng.height; y++) {
    const by = Math.floor(y / block);
    for (let x = 0; x < dng.width; x++) {
      const black = dng.blackLevels[(y % period) * period + (x % period)];
      const level = (dng.mosaic[y * dng.width + x] - black) / (dng.whiteLevel - black);
      total += level;
      const bx = Math.floor(x / block);
      if (!small && by < rows && bx < cols) sums[by * cols + bx] += level;
    }
  }
  const mean = total / (dng.width * dng.height);
  if (!(mean > auto.no_signal_level)) {
    throw new Error(`no usable signal for an automatic ratio (mean level ${mean.toExponential(2)} of the range ` +
                    `above the black level, at most ${auto.no_signal_level})`);
  }
  let median = mean;
  if (!small) {
    const means = Array.from(sums, (v) => v / (block * block)).sort((a, b) => a - b);
    const mid = means.length >> 1;
    median = means.length % 2 ? means[mid] : (means[mid - 1] + means[mid]) / 2;
  }
  if (!(median > 0)) return pre.ratio.max;
  return Math.min(Math.max(auto.target_signal / median, 1), pre.ratio.max);
}

/** DNG → packed Float32Array (h, w, 4): normalised per CFA site, × ratio, clipped to [0, 1]. */
export function packBayer(dng, ratio, pre) {
  const offsets = bayerOffsets(dng.cfaPattern);
  const h = dng.height >> 1, w = dng.width >> 1;
  const out = new Float32Array(h * w * 4);
  const r = Math.min(ratio, pre.ratio.max);
  const black = offsets.map(([dy, dx]) => dng.blackLevels[dy * 2 + dx]);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 4; c++) {
        const [dy, dx] = offsets[c];
        const v = dng.mosaic[(2 * y + dy) * dng.width + 2 * x + dx];
        const norm = Math.min(Math.max((v - black[c]) / (dng.whiteLevel - black[c]), 0), 1);
        out[(y * w + x) * 4 + c] = Math.min(norm * r, 1);
      }
    }
  }
  return {data: out, height: h, width: w, channels: 4};
}

const roundUp = (v, m) => Math.ceil(v / m) * m;

/** Same as keras_lowlight.runtime.engine.tile_plan: (tile, overlap, core) along one axis. */
export function tilePlan(size, tile, overlap, multiple, shrink = true) {
  overlap = roundUp(Math.max(0, overlap), multiple);
  tile = roundUp(Math.max(1, tile), multiple);
  if (tile <= 2 * overlap) throw new Error(`tile ${tile} leaves no core with overlap ${overlap}`);
  if (shrink) tile = Math.min(tile, roundUp(size, multiple) + 2 * overlap);
  return [tile, overlap, tile - 2 * overlap];
}

// numpy.pad(mode="symmetric") index mapping.
function mirror(i, n) {
  const period = 2 * n;
  i = ((i % period) + period) % period;
  return i < n ? i : period - 1 - i;
}

/** Runs `runTile(Float32Array (th, tw, C), th, tw) → Float32Array (s·th, s·tw, K)` over the
 *  frame by overlapping tiles, keeping each tile's core — runtime.enhance_frame's algorithm.
 *  K = 3 (sRGB head, s = 2) or K = C (RAW head, s = 1: the clean packed RAW). */
export async function enhanceFrame(packed, runTile, {tile, overlap, multiple, scale, shrink = true, outChannels = 3},
                                   onTile) {
  const {data, height: h, width: w, channels: c} = packed;
  const k3 = outChannels;
  const [th, oh, ch] = tilePlan(h, tile, overlap, multiple, shrink);
  const [tw, ow, cw] = tilePlan(w, tile, overlap, multiple, shrink);
  const rows = Math.ceil(h / ch), cols = Math.ceil(w / cw);
  const s = scale;
  const out = new Float32Array(h * s * w * s * k3);
  const buffer = new Float32Array(th * tw * c);
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const y0 = r * ch, x0 = q * cw;
      for (let y = 0; y < th; y++) {
        const sy = mirror(y0 - oh + y, h);
        for (let x = 0; x < tw; x++) {
          const sx = mirror(x0 - ow + x, w);
          for (let k = 0; k < c; k++) buffer[(y * tw + x) * c + k] = data[(sy * w + sx) * c + k];
        }
      }
      const result = await runTile(buffer, th, tw);
      const coreH = Math.min(ch, h - y0), coreW = Math.min(cw, w - x0);
      for (let y = 0; y < coreH * s; y++) {
        for (let x = 0; x < coreW * s; x++) {
          const src = ((oh * s + y) * tw * s + ow * s + x) * k3;
          const dst = ((y0 * s + y) * w * s + x0 * s + x) * k3;
          for (let k = 0; k < k3; k++) out[dst + k] = result[src + k];
        }
      }
      if (onTile) onTile(r * cols + q + 1, rows * cols);
    }
  }
  return {data: out, height: h * s, width: w * s, channels: k3};
}

/** A plain "before" rendering: greens averaged, white balance, sRGB-ish gamma, 2× nearest. */
export function previewBefore(packed, asShotNeutral) {
  const {data, height: h, width: w} = packed;
  const wb = asShotNeutral ? asShotNeutral.map((n) => 1 / n) : [2.0, 1.0, 1.6];
  const rgba = new Uint8ClampedArray(h * 2 * w * 2 * 4);
  for (let y = 0; y < h * 2; y++) {
    for (let x = 0; x < w * 2; x++) {
      const i = ((y >> 1) * w + (x >> 1)) * 4;
      const rgb = [data[i], (data[i + 1] + data[i + 3]) / 2, data[i + 2]];
      for (let k = 0; k < 3; k++) rgba[(y * w * 2 + x) * 4 + k] = 255 * Math.pow(Math.min(rgb[k] * wb[k], 1), 1 / 2.2);
      rgba[(y * w * 2 + x) * 4 + 3] = 255;
    }
  }
  return new ImageData(rgba, w * 2, h * 2);
}

/** Float sRGB (H, W, 3) in [0, 1] (clipped here) → ImageData. */
export function toImageData({data, height, width}) {
  const rgba = new Uint8ClampedArray(height * width * 4);
  for (let p = 0; p < height * width; p++) {
    for (let k = 0; k < 3; k++) rgba[p * 4 + k] = Math.round(Math.min(Math.max(data[p * 3 + k], 0), 1) * 255);
    rgba[p * 4 + 3] = 255;
  }
  return new ImageData(rgba, width, height);
}

// === Rendering a RAW-head output (keras_lowlight/runtime/isp.py render_packed; the contract's `render`) ===

// Linear sRGB (D65) → XYZ, as keras_lowlight.runtime.unprocess.RGB_TO_XYZ.
const RGB_TO_XYZ = [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]];

function inverse3(m) {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!(Math.abs(det) > 1e-12)) throw new Error('singular colour matrix');
  return [[A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
          [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
          [C / det, -(a * h - b * g) / det, (a * e - b * d) / det]];
}

/** Camera → linear sRGB from XYZ → camera (row-major 9 values): inverse of (xyz2cam · RGB_TO_XYZ)
 *  with rows normalised to sum 1 (dcraw's cam_xyz_coeff); the identity-like sRGB fallback if null. */
export function camToRgb(xyzToCam) {
  if (!xyzToCam) return [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const x = [xyzToCam.slice(0, 3), xyzToCam.slice(3, 6), xyzToCam.slice(6, 9)];
  const rgbToCam = x.map((row) => [0, 1, 2].map((j) => row[0] * RGB_TO_XYZ[0][j] + row[1] * RGB_TO_XYZ[1][j] +
                                                      row[2] * RGB_TO_XYZ[2][j]));
  return inverse3(rgbToCam.map((row) => { const s = row[0] + row[1] + row[2]; return row.map((v) => v / s); }));
}

const bt709 = (v) => { v = Math.min(Math.max(v, 0), 1); return v < 0.018 ? 4.5 * v : 1.099 * Math.pow(v, 0.45) - 0.099; };

// Malvar-He-Cutler taps (×8): [dy, dx, weight].
const G_AT_RB = [[0, 0, 4], [-1, 0, 2], [1, 0, 2], [0, -1, 2], [0, 1, 2], [-2, 0, -1], [2, 0, -1], [0, -2, -1], [0, 2, -1]];
const AT_G_ROW = [[0, 0, 5], [0, -1, 4], [0, 1, 4], [0, -2, -1], [0, 2, -1], [-1, -1, -1], [-1, 1, -1], [1, -1, -1],
                  [1, 1, -1], [-2, 0, 0.5], [2, 0, 0.5]];
const AT_G_COL = AT_G_ROW.map(([dy, dx, w]) => [dx, dy, w]);
const AT_OPPOSITE = [[0, 0, 6], [-1, -1, 2], [-1, 1, 2], [1, -1, 2], [1, 1, 2], [-2, 0, -1.5], [2, 0, -1.5], [0, -2, -1.5],
                     [0, 2, -1.5]];

/** A RAW-head model's Bayer output (packed h×w×4, [0, 1]) → float sRGB (2h, 2w, 3): unpack,
 *  Malvar demosaic (mirror borders), white balance (min multiplier 1), clip, camera → sRGB, BT.709. */
export function renderPackedBayer(packed, cfaPattern, asShotNeutral, xyzToCam) {
  const {data, height: ph, width: pw} = packed;
  const offsets = bayerOffsets(cfaPattern);
  const H = ph * 2, W = pw * 2;
  const mosaic = new Float64Array(H * W);
  for (let y = 0; y < ph; y++) {
    for (let x = 0; x < pw; x++) {
      for (let c = 0; c < 4; c++) {
        const [dy, dx] = offsets[c];
        mosaic[(2 * y + dy) * W + 2 * x + dx] = Math.min(Math.max(data[(y * pw + x) * 4 + c], 0), 1);
      }
    }
  }
  const reflect = (i, n) => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);  // numpy 'reflect' (= ndimage 'mirror')
  const at = (y, x) => mosaic[reflect(y, H) * W + reflect(x, W)];
  const filtered = (y, x, taps) => { let s = 0; for (const [dy, dx, w] of taps) s += at(y + dy, x + dx) * (w / 8); return s; };
  const letter = (y, x) => cfaPattern[(y & 1) * 2 + (x & 1)];
  const redRow = cfaPattern.slice(0, 2).includes('R') ? 0 : 1;
  const wb = asShotNeutral ? asShotNeutral.map((n) => 1 / n) : [1, 1, 1];
  const wbMin = Math.min(...wb.map((v) => v / wb[1]));
  const gain = wb.map((v) => v / wb[1] / wbMin);
  const m = camToRgb(xyzToCam);
  const out = new Float32Array(H * W * 3);
  const rgb = [0, 0, 0];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const l = letter(y, x), v = mosaic[y * W + x];
      if (l === 'G') {
        const onRedRow = (y & 1) === redRow;
        rgb[0] = filtered(y, x, onRedRow ? AT_G_ROW : AT_G_COL);
        rgb[1] = v;
        rgb[2] = filtered(y, x, onRedRow ? AT_G_COL : AT_G_ROW);
      } else {
        const own = l === 'R' ? 0 : 2;
        rgb[own] = v;
        rgb[1] = filtered(y, x, G_AT_RB);
        rgb[2 - own] = filtered(y, x, AT_OPPOSITE);
      }
      for (let k = 0; k < 3; k++) rgb[k] = Math.min(Math.max(rgb[k] * gain[k], 0), 1);
      for (let i = 0; i < 3; i++) out[(y * W + x) * 3 + i] = bt709(m[i][0] * rgb[0] + m[i][1] * rgb[1] + m[i][2] * rgb[2]);
    }
  }
  return {data: out, height: H, width: W};
}
