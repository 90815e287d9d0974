// Packing, normalisation and tiling exactly as keras_lowlight does it in Python
// (keras_lowlight/packing.py, raw.py, enhance.py, runtime.py), driven by MODEL_CONTRACT.json.

/** Canonical Bayer packing offsets [R, G1, B, G2] (G1 on the red row) for a 2×2 pattern. */
export function bayerOffsets(pattern) {
  if (!['RGGB', 'BGGR', 'GRBG', 'GBRG'].includes(pattern)) {
    throw new Error(`unsupported CFA ${pattern} (the web client packs 2×2 Bayer only)`);
  }
  const at = (c) => { const i = pattern.indexOf(c); return [i >> 1, i & 1]; };
  const [ry, rx] = at('R'), [by, bx] = at('B');
  return [[ry, rx], [ry, 1 - rx], [by, bx], [by, 1 - bx]];
}

/** The amplification ratio: target exposure / the frame's exposure, capped, else the default. */
export function amplificationRatio(exposureTime, pre) {
  if (exposureTime > 0) {
    return Math.min(Math.max(pre.ratio.default_target_exposure_s / exposureTime, 1), pre.ratio.max);
  }
  return pre.ratio.default;
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

/** Same as keras_lowlight.runtime.tile_plan: (tile, overlap, core) along one axis. */
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

/** Runs `runTile(Float32Array (th, tw, C), th, tw) → Float32Array (s·th, s·tw, 3)` over the
 *  frame by overlapping tiles, keeping each tile's core — runtime.enhance_frame's algorithm. */
export async function enhanceFrame(packed, runTile, {tile, overlap, multiple, scale, shrink = true}, onTile) {
  const {data, height: h, width: w, channels: c} = packed;
  const [th, oh, ch] = tilePlan(h, tile, overlap, multiple, shrink);
  const [tw, ow, cw] = tilePlan(w, tile, overlap, multiple, shrink);
  const rows = Math.ceil(h / ch), cols = Math.ceil(w / cw);
  const s = scale;
  const out = new Float32Array(h * s * w * s * 3);
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
          const src = ((oh * s + y) * tw * s + ow * s + x) * 3;
          const dst = ((y0 * s + y) * w * s + x0 * s + x) * 3;
          out[dst] = result[src]; out[dst + 1] = result[src + 1]; out[dst + 2] = result[src + 2];
        }
      }
      if (onTile) onTile(r * cols + q + 1, rows * cols);
    }
  }
  return {data: out, height: h * s, width: w * s};
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
