package io.github.keraslowlight

import kotlin.math.max
import kotlin.math.min

/** A packed frame (h, w, 4) in NHWC order, normalised, amplified and clipped. */
class Packed(val data: FloatArray, val height: Int, val width: Int, val channels: Int)

/** Packing exactly as keras_lowlight/packing.py + raw.normalize + enhance.prepare_input. */
object Packer {
    /** Offsets of R, G1 (green on R's row), B, G2 (green on B's row) in the 2×2 CFA cell. */
    fun bayerOffsets(pattern: String): List<Pair<Int, Int>> {
        require(pattern in setOf("RGGB", "BGGR", "GRBG", "GBRG")) { "unsupported CFA $pattern (Bayer only)" }
        val r = pattern.indexOf('R')
        val b = pattern.indexOf('B')
        val (ry, rx) = r / 2 to r % 2
        val (by, bx) = b / 2 to b % 2
        return listOf(ry to rx, ry to 1 - rx, by to bx, by to 1 - bx)
    }

    /** Ratio = target exposure / exposure, at least 1, capped; default when the exposure is unknown. */
    fun ratio(frame: RawFrame, c: ModelContract): Double =
        frame.exposureTime?.takeIf { it > 0 }?.let { min(max(c.defaultTargetExposure / it, 1.0), c.maxRatio) }
            ?: c.defaultRatio

    fun pack(frame: RawFrame, ratio: Double, c: ModelContract): Packed {
        val offsets = bayerOffsets(frame.cfaPattern)
        val h = frame.height / 2
        val w = frame.width / 2
        val r = min(ratio, c.maxRatio).toFloat()
        val black = offsets.map { (dy, dx) -> frame.blackLevels[dy * 2 + dx] }
        val out = FloatArray(h * w * 4)
        for (y in 0 until h) for (x in 0 until w) for (ch in 0 until 4) {
            val (dy, dx) = offsets[ch]
            val v = frame.mosaic[(2 * y + dy) * frame.width + 2 * x + dx].toInt() and 0xffff
            val norm = ((v - black[ch]) / (frame.whiteLevel - black[ch])).coerceIn(0.0, 1.0).toFloat()
            out[(y * w + x) * 4 + ch] = min(norm * r, 1f)
        }
        return Packed(out, h, w, 4)
    }
}
