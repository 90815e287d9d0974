package io.github.keraslowlight.core

import kotlin.math.abs
import kotlin.math.pow

/**
 * A RAW-head model's output (a clean packed RAW in [0, 1]) → sRGB, with the file's white balance
 * and colour matrix: keras_lowlight.runtime.isp.render_packed step by step — unpack, demosaic (Malvar-He-
 * Cutler for Bayer, normalised-convolution bilinear for X-Trans, scipy's "mirror" edges), white
 * balance scaled so its smallest multiplier is 1, clip, camera → sRGB from XYZ → camera (rows
 * normalised as dcraw's cam_xyz_coeff), BT.709 curve. Doubles throughout, float32 out, like numpy.
 */
object Render {
    /** keras_lowlight.runtime.unprocess.RGB_TO_XYZ (linear sRGB → XYZ, D65), row-major. */
    private val RGB_TO_XYZ = doubleArrayOf(
        0.4124564, 0.3575761, 0.1804375,
        0.2126729, 0.7151522, 0.0721750,
        0.0193339, 0.1191920, 0.9503041
    )

    /**
     * (R, G, B) multipliers normalised to G = 1 from the file's AsShotNeutral (1 / multipliers),
     * neutral when absent; implausible values refused, as keras_lowlight.runtime.raw does.
     */
    fun whiteBalance(frame: RawFrame): DoubleArray {
        val neutral = frame.asShotNeutral ?: return doubleArrayOf(1.0, 1.0, 1.0)
        for (n in neutral) if (n.isNaN() || n.isInfinite() || n <= 0) throw DngException("corrupt white balance (AsShotNeutral ${neutral.toList()})")
        val wb = DoubleArray(3) { neutral[1] / neutral[it] }
        for (v in wb) if (v > 32 || v < 1.0 / 32) throw DngException("implausible white balance R:G:B = ${wb[0]}:1:${wb[2]} (corrupt file)")
        return wb
    }

    /** (s·H, s·W, 3) float32 sRGB in [0, 1] from a packed RAW (H, W, C) of the frame's CFA. */
    fun packed(packed: Packed, cfaPattern: String, whiteBalance: DoubleArray, xyzToCam: DoubleArray?): FloatArray {
        val layout = PackingLayout.forPattern(cfaPattern)
        require(packed.channels == layout.channels) { "a $cfaPattern frame packs to ${layout.channels} channels, got ${packed.channels}" }
        val (mosaic, h, w) = unpack(packed, layout)
        // Packing crops an X-Trans mosaic to the reference phase first: that is the unpacked layout.
        val pattern = if (cfaPattern.length == 4) cfaPattern else PackingLayout.XTRANS_REFERENCE
        val rgb = if (pattern.length == 4) demosaicMalvar(mosaic, h, w, pattern) else demosaicBilinear(mosaic, h, w, pattern)
        var smallest = whiteBalance[0]
        for (v in whiteBalance) if (v < smallest) smallest = v
        val wb = DoubleArray(3) { whiteBalance[it] / smallest }
        val m = cam2rgb(xyzToCam ?: invert3(RGB_TO_XYZ))
        val out = FloatArray(h * w * 3)
        val px = DoubleArray(3)
        for (p in 0 until h * w) {
            for (c in 0 until 3) px[c] = minOf(maxOf(rgb[p * 3 + c] * wb[c], 0.0), 1.0)
            for (i in 0 until 3) {
                val linear = m[i * 3] * px[0] + m[i * 3 + 1] * px[1] + m[i * 3 + 2] * px[2]
                out[p * 3 + i] = bt709(linear).toFloat()
            }
        }
        return out
    }

    /** The BT.709 transfer curve (LibRaw's default output gamma) on a value clipped to [0, 1]. */
    fun bt709(value: Double): Double {
        val x = minOf(maxOf(value, 0.0), 1.0)
        return if (x < 0.018) 4.5 * x else 1.099 * x.pow(0.45) - 0.099
    }

    /** packing.unpack of the clipped packed RAW: the mosaic cropped to whole periods at the packing phase. */
    private fun unpack(packed: Packed, layout: PackingLayout): Triple<DoubleArray, Int, Int> {
        val q = layout.cells
        val p = layout.period
        val c = layout.channels
        val blocksDown = packed.height / q
        val blocksAcross = packed.width / q
        val h = blocksDown * p
        val w = blocksAcross * p
        val mosaic = DoubleArray(h * w)
        for (by in 0 until blocksDown) for (bx in 0 until blocksAcross) for (cy in 0 until q) for (cx in 0 until q) {
            val src = ((by * q + cy) * packed.width + bx * q + cx) * c
            for (ch in 0 until c) {
                val site = layout.index[(cy * q + cx) * c + ch]
                val v = packed.data[src + ch].toDouble()
                mosaic[(by * p + site / p) * w + bx * p + site % p] = minOf(maxOf(v, 0.0), 1.0)
            }
        }
        return Triple(mosaic, h, w)
    }

    /** scipy.ndimage "mirror" boundary: reflect about the edge sample (d c b | a b c d | c b a). */
    private fun mirror(i: Int, n: Int): Int {
        if (n == 1) return 0
        val period = 2 * n - 2
        val j = ((i % period) + period) % period
        return if (j < n) j else period - j
    }

    /** Correlation of a 5×5 (or 3×3) symmetric kernel with `values` at (y, x), mirror edges. */
    private fun filter(values: DoubleArray, h: Int, w: Int, y: Int, x: Int, kernel: DoubleArray, size: Int): Double {
        val r = size / 2
        var sum = 0.0
        for (ky in 0 until size) {
            val sy = mirror(y + ky - r, h)
            for (kx in 0 until size) {
                val k = kernel[ky * size + kx]
                if (k != 0.0) sum += k * values[sy * w + mirror(x + kx - r, w)]
            }
        }
        return sum
    }

    private fun kernel(rows: Array<DoubleArray>, scale: Double): DoubleArray {
        val out = DoubleArray(rows.size * rows.size)
        for (y in rows.indices) for (x in rows.indices) out[y * rows.size + x] = rows[y][x] / scale
        return out
    }

    private val G_AT_RB = kernel(arrayOf(
        doubleArrayOf(0.0, 0.0, -1.0, 0.0, 0.0), doubleArrayOf(0.0, 0.0, 2.0, 0.0, 0.0), doubleArrayOf(-1.0, 2.0, 4.0, 2.0, -1.0),
        doubleArrayOf(0.0, 0.0, 2.0, 0.0, 0.0), doubleArrayOf(0.0, 0.0, -1.0, 0.0, 0.0)
    ), 8.0)
    private val RB_AT_G_ROW = kernel(arrayOf(
        doubleArrayOf(0.0, 0.0, 0.5, 0.0, 0.0), doubleArrayOf(0.0, -1.0, 0.0, -1.0, 0.0), doubleArrayOf(-1.0, 4.0, 5.0, 4.0, -1.0),
        doubleArrayOf(0.0, -1.0, 0.0, -1.0, 0.0), doubleArrayOf(0.0, 0.0, 0.5, 0.0, 0.0)
    ), 8.0)
    private val RB_AT_G_COL = DoubleArray(25) { RB_AT_G_ROW[(it % 5) * 5 + it / 5] }
    private val RB_AT_BR = kernel(arrayOf(
        doubleArrayOf(0.0, 0.0, -1.5, 0.0, 0.0), doubleArrayOf(0.0, 2.0, 0.0, 2.0, 0.0), doubleArrayOf(-1.5, 0.0, 6.0, 0.0, -1.5),
        doubleArrayOf(0.0, 2.0, 0.0, 2.0, 0.0), doubleArrayOf(0.0, 0.0, -1.5, 0.0, 0.0)
    ), 8.0)

    /** Malvar, He & Cutler (ICASSP 2004): gradient-corrected bilinear, five fixed 5×5 kernels. */
    private fun demosaicMalvar(m: DoubleArray, h: Int, w: Int, pattern: String): DoubleArray {
        val rRow = pattern.indexOf('R') / 2
        val bRow = pattern.indexOf('B') / 2
        val out = DoubleArray(h * w * 3)
        for (y in 0 until h) for (x in 0 until w) {
            val letter = pattern[(y % 2) * 2 + x % 2]
            val v = m[y * w + x]
            val p = (y * w + x) * 3
            when (letter) {
                'G' -> {
                    out[p + 1] = v
                    val alongRow = filter(m, h, w, y, x, RB_AT_G_ROW, 5)
                    val alongCol = filter(m, h, w, y, x, RB_AT_G_COL, 5)
                    // R (or B) comes from the row's neighbours when this row holds it, else the column's.
                    out[p] = if (y % 2 == rRow) alongRow else alongCol
                    out[p + 2] = if (y % 2 == bRow) alongRow else alongCol
                }
                else -> {
                    out[p + 1] = filter(m, h, w, y, x, G_AT_RB, 5)
                    val opposite = filter(m, h, w, y, x, RB_AT_BR, 5)
                    out[p] = if (letter == 'R') v else opposite
                    out[p + 2] = if (letter == 'B') v else opposite
                }
            }
        }
        return out
    }

    private val K3 = DoubleArray(9) { doubleArrayOf(1.0, 2.0, 1.0)[it / 3] * doubleArrayOf(1.0, 2.0, 1.0)[it % 3] }
    private val K5 = DoubleArray(25) { doubleArrayOf(1.0, 2.0, 3.0, 2.0, 1.0)[it / 5] * doubleArrayOf(1.0, 2.0, 3.0, 2.0, 1.0)[it % 5] }

    /** Per colour: known samples kept, others the mask-normalised 3×3 average (5×5 where 3×3 has none). */
    private fun demosaicBilinear(m: DoubleArray, h: Int, w: Int, pattern: String): DoubleArray {
        val period = if (pattern.length == 4) 2 else 6
        val out = DoubleArray(h * w * 3)
        for ((c, letter) in "RGB".withIndex()) {
            val mask = DoubleArray(h * w) { if (pattern[(it / w % period) * period + it % w % period] == letter) 1.0 else 0.0 }
            val masked = DoubleArray(h * w) { m[it] * mask[it] }
            for (y in 0 until h) for (x in 0 until w) {
                val i = y * w + x
                out[i * 3 + c] = if (mask[i] > 0) m[i] else {
                    val den3 = filter(mask, h, w, y, x, K3, 3)
                    if (den3 > 0) filter(masked, h, w, y, x, K3, 3) / maxOf(den3, 1e-12)
                    else filter(masked, h, w, y, x, K5, 5) / maxOf(filter(mask, h, w, y, x, K5, 5), 1e-12)
                }
            }
        }
        return out
    }

    /** Camera → linear sRGB: inverse of (XYZ→camera · sRGB→XYZ) with rows normalised to sum 1. */
    fun cam2rgb(xyzToCam: DoubleArray): DoubleArray {
        val rgb2cam = DoubleArray(9)
        for (i in 0 until 3) {
            for (j in 0 until 3) for (k in 0 until 3) rgb2cam[i * 3 + j] += xyzToCam[i * 3 + k] * RGB_TO_XYZ[k * 3 + j]
            val sum = rgb2cam[i * 3] + rgb2cam[i * 3 + 1] + rgb2cam[i * 3 + 2]
            for (j in 0 until 3) rgb2cam[i * 3 + j] /= sum
        }
        return invert3(rgb2cam)
    }

    private fun invert3(a: DoubleArray): DoubleArray {
        val det = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6])
        require(abs(det) > 1e-12) { "colour matrix is singular" }
        return doubleArrayOf(
            (a[4] * a[8] - a[5] * a[7]) / det, (a[2] * a[7] - a[1] * a[8]) / det, (a[1] * a[5] - a[2] * a[4]) / det,
            (a[5] * a[6] - a[3] * a[8]) / det, (a[0] * a[8] - a[2] * a[6]) / det, (a[2] * a[3] - a[0] * a[5]) / det,
            (a[3] * a[7] - a[4] * a[6]) / det, (a[1] * a[6] - a[0] * a[7]) / det, (a[0] * a[4] - a[1] * a[3]) / det
        )
    }
}
