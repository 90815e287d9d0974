package io.github.keraslowlight.core

import kotlin.math.max
import kotlin.math.min

/** A packed frame (height, width, channels) in NHWC order, row-major. */
class Packed(val data: FloatArray, val height: Int, val width: Int, val channels: Int)

/**
 * How one CFA period maps to packed pixels: keras_lowlight/runtime/packing.py's `PackingLayout`, the same
 * gather table, so Kotlin and Python pack every pixel to the same place.
 */
class PackingLayout(
    val kind: String,
    val period: Int,
    val offsetY: Int,
    val offsetX: Int,
    val cells: Int,
    val channels: Int,
    /** Site (row·period + col) in the block for each (cy, cx, channel), row-major. */
    val index: IntArray
) {
    /** Packed pixel size in mosaic pixels: 2 (Bayer) or 3 (X-Trans); the model's output scale too. */
    val scale: Int get() = period / cells

    fun packedHeight(height: Int): Int = (height - offsetY) / period * cells
    fun packedWidth(width: Int): Int = (width - offsetX) / period * cells

    companion object {
        val BAYER_PATTERNS = listOf("RGGB", "BGGR", "GRBG", "GBRG")

        /** The 6×6 X-Trans layout SID's Fuji pack_raw assumes (the X-T2 at the visible origin). */
        const val XTRANS_REFERENCE = "RBGBRG" + "GGRGGB" + "GGBGGR" + "BRGRBG" + "GGBGGR" + "GGRGGB"

        // SID train_Fuji.py pack_raw: for channel c and output parity (py, px), the source site
        // (sy, sx) in the 6×6 block; packing.py's _SID_XTRANS_SITES.
        private val SID_XTRANS_SITES = arrayOf(
            intArrayOf(0, 0, 0, 4, 3, 1, 3, 3),
            intArrayOf(0, 2, 0, 5, 3, 2, 3, 5),
            intArrayOf(0, 1, 0, 3, 3, 0, 3, 4),
            intArrayOf(1, 2, 2, 5, 5, 2, 4, 5),
            intArrayOf(2, 2, 1, 5, 4, 2, 5, 5),
            intArrayOf(1, 0, 1, 3, 4, 0, 4, 3),
            intArrayOf(1, 1, 1, 4, 4, 1, 4, 4),
            intArrayOf(2, 0, 2, 3, 5, 0, 5, 3),
            intArrayOf(2, 1, 2, 4, 5, 1, 5, 4)
        )

        /** The layout of a CFA pattern string (4 letters Bayer, 36 letters X-Trans). */
        fun forPattern(pattern: String): PackingLayout = when (pattern.length) {
            4 -> bayer(pattern)
            36 -> xtrans(pattern)
            else -> throw DngException("unsupported CFA pattern $pattern: neither 2x2 Bayer nor 6x6 X-Trans")
        }

        /** R, G1 (green on R's row), B, G2 (green on B's row), whatever the sensor's order. */
        private fun bayer(pattern: String): PackingLayout {
            if (pattern !in BAYER_PATTERNS) throw DngException("unsupported Bayer pattern $pattern; expected one of $BAYER_PATTERNS")
            val r = pattern.indexOf('R')
            val b = pattern.indexOf('B')
            val ry = r / 2
            val rx = r % 2
            val by = b / 2
            val bx = b % 2
            val sites = intArrayOf(ry * 2 + rx, ry * 2 + (1 - rx), by * 2 + bx, by * 2 + (1 - bx))
            return PackingLayout("bayer", 2, 0, 0, 1, 4, sites)
        }

        /** The phase (dy, dx) that aligns the sensor's pattern with SID's, then SID's gather table. */
        private fun xtrans(pattern: String): PackingLayout {
            for (dy in 0 until 6) for (dx in 0 until 6) {
                var same = true
                for (y in 0 until 6) for (x in 0 until 6) {
                    if (pattern[((y + dy) % 6) * 6 + (x + dx) % 6] != XTRANS_REFERENCE[y * 6 + x]) same = false
                }
                if (same) {
                    val index = IntArray(2 * 2 * 9)
                    var k = 0
                    for (cy in 0 until 2) for (cx in 0 until 2) for (c in 0 until 9) {
                        val parity = cy * 2 + cx
                        index[k++] = SID_XTRANS_SITES[c][parity * 2] * 6 + SID_XTRANS_SITES[c][parity * 2 + 1]
                    }
                    return PackingLayout("xtrans", 6, dy, dx, 2, 9, index)
                }
            }
            throw DngException("unsupported 6x6 CFA layout $pattern: not a phase of the X-Trans layout")
        }
    }
}

/**
 * The automatic ratio of MODEL_CONTRACT.json's preprocessing.ratio.auto (keras_lowlight.runtime.exposure):
 * level = (x − black[site]) / (white − black[site]) in double, NOT clipped (read noise is zero-mean
 * around black); statistic = the median of the means of level over whole block × block squares from
 * the top-left corner (a frame smaller than one block: its mean); ratio = clip(targetSignal /
 * statistic, 1, max), max when the statistic is not positive; a frame whose whole-mosaic mean level
 * is at most noSignalLevel has no usable signal and is refused.
 */
class AutoRatioRule(val targetSignal: Double, val block: Int, val noSignalLevel: Double) {
    /** (median of the block means, whole-frame mean level). */
    fun statistics(frame: RawFrame): Pair<Double, Double> {
        val p = frame.period
        val white = frame.whiteLevel
        val rows = frame.height / block
        val cols = frame.width / block
        val small = rows == 0 || cols == 0
        val sums = DoubleArray(if (small) 1 else rows * cols)
        var total = 0.0
        for (y in 0 until frame.height) {
            val by = y / block
            for (x in 0 until frame.width) {
                val b = frame.blackLevels[(y % p) * p + x % p]
                val level = (frame.sample(y, x) - b) / (white - b)
                total += level
                val bx = x / block
                if (!small && by < rows && bx < cols) sums[by * cols + bx] += level
            }
        }
        val mean = total / (frame.width.toDouble() * frame.height)
        if (small) return Pair(mean, mean)
        val means = DoubleArray(sums.size) { sums[it] / (block * block) }
        means.sort()
        val mid = means.size / 2
        val median = if (means.size % 2 == 1) means[mid] else (means[mid - 1] + means[mid]) / 2
        return Pair(median, mean)
    }

    fun ratioFor(frame: RawFrame, maxRatio: Double): Double {
        val (median, mean) = statistics(frame)
        if (!(mean > noSignalLevel)) {
            throw DngException("no usable signal for the automatic ratio (mean level ${String.format("%.2e", mean)} of the range " +
                "above the black level, at most $noSignalLevel)")
        }
        if (!(median > 0)) return maxRatio
        return min(max(targetSignal / median, 1.0), maxRatio)
    }
}

/** The amplification rule of MODEL_CONTRACT.json's preprocessing.ratio (keras_lowlight.runtime.enhance). */
class RatioRule(
    val defaultTargetExposure: Double,
    val maxRatio: Double,
    /** preprocessing.ratio.auto when the contract states it (contracts before it do not). */
    val auto: AutoRatioRule? = null
) {
    /** The automatic ratio (`lowlight enhance --ratio auto`); refuses a frame with no usable signal. */
    fun autoRatioFor(frame: RawFrame): Double {
        val rule = auto ?: throw ContractException("MODEL_CONTRACT.json states no automatic ratio rule")
        return rule.ratioFor(frame, maxRatio)
    }

    /**
     * A SID file name (`00001_00_0.04s.ARW`): target exposure / its exposure, at least 1, capped;
     * any other file: the automatic ratio (the file's own exposure time alone does not say how
     * bright the scene was), as in Python.
     */
    fun ratioFor(frame: RawFrame, fileName: String? = null): Double {
        val exposure = fileName?.let { exposureFromName(it) }
        return if (exposure != null && exposure > 0) min(max(defaultTargetExposure / exposure, 1.0), maxRatio)
        else autoRatioFor(frame)
    }

    companion object {
        private val SID_NAME = Regex("^\\d{5}_\\d{2}_(\\d+(?:\\.\\d+)?)s\\.[A-Za-z0-9]+$")

        /** Exposure in seconds from a SID file name, else null (keras_lowlight.runtime.raw.exposure_from_name). */
        fun exposureFromName(name: String): Double? =
            SID_NAME.find(name.substringAfterLast('/'))?.groupValues?.get(1)?.toDouble()
    }
}

/** Normalise, pack, amplify and clip exactly as keras_lowlight.runtime.enhance.prepare_input. */
object Packer {
    /**
     * The model's `packed_raw` for one frame. Arithmetic is float32 in numpy's order —
     * (x − black) / (white − black), clip to [0, 1], × min(ratio, max), min with 1 — so the result
     * equals Python's bit for bit.
     */
    fun pack(frame: RawFrame, ratio: Double, maxRatio: Double): Packed {
        val layout = PackingLayout.forPattern(frame.cfaPattern)
        val p = layout.period
        val q = layout.cells
        val c = layout.channels
        val blocksDown = (frame.height - layout.offsetY) / p
        val blocksAcross = (frame.width - layout.offsetX) / p
        if (blocksDown <= 0 || blocksAcross <= 0) {
            throw DngException("image ${frame.width}x${frame.height} is smaller than one CFA period ($p)")
        }
        val h = blocksDown * q
        val w = blocksAcross * q
        val gain = min(ratio, maxRatio).toFloat()
        val white = frame.whiteLevel.toFloat()
        val black = FloatArray(p * p) { frame.blackLevels[it].toFloat() }
        val out = FloatArray(h * w * c)
        for (by in 0 until blocksDown) for (bx in 0 until blocksAcross) for (cy in 0 until q) for (cx in 0 until q) {
            val dst = ((by * q + cy) * w + bx * q + cx) * c
            for (ch in 0 until c) {
                val site = layout.index[(cy * q + cx) * c + ch]
                val y = layout.offsetY + by * p + site / p
                val x = layout.offsetX + bx * p + site % p
                val b = black[(y % p) * p + x % p]
                val norm = min(max((frame.sample(y, x).toFloat() - b) / (white - b), 0f), 1f)
                out[dst + ch] = min(norm * gain, 1f)
            }
        }
        return Packed(out, h, w, c)
    }
}
