package io.github.keraslowlight.core

import kotlin.math.pow
import kotlin.math.roundToInt

/** Pixels for display, as ARGB ints (what android.graphics.Bitmap.createBitmap takes). */
object Preview {
    /** Float RGB (h, w, 3) → ARGB, clipped to [0, 1] and rounded like mobile/web/pipeline.js. */
    fun toArgb(rgb: FloatArray, width: Int, height: Int): IntArray {
        require(rgb.size == width * height * 3) { "expected ${width * height * 3} values, got ${rgb.size}" }
        return IntArray(width * height) { p ->
            val r = byte(rgb[p * 3])
            val g = byte(rgb[p * 3 + 1])
            val b = byte(rgb[p * 3 + 2])
            (0xff shl 24) or (r shl 16) or (g shl 8) or b
        }
    }

    /**
     * The amplified input, shown plainly: colours averaged per packed pixel (greens of R, G1, B, G2;
     * the X-Trans channels by colour), the file's white balance, gamma 1/2.2 — the noise the model removes.
     */
    fun before(packed: Packed, asShotNeutral: DoubleArray?): FloatArray {
        val wb = asShotNeutral?.map { 1.0 / it } ?: listOf(2.0, 1.0, 1.6)
        // Channel → colour (0 R, 1 G, 2 B): keras_lowlight.runtime.packing's channel orders.
        val colours = if (packed.channels == 4) intArrayOf(0, 1, 2, 1) else intArrayOf(0, 1, 2, 0, 2, 1, 1, 1, 1)
        val counts = IntArray(3)
        for (c in colours) counts[c]++
        val out = FloatArray(packed.height * packed.width * 3)
        val sums = DoubleArray(3)
        for (p in 0 until packed.height * packed.width) {
            sums.fill(0.0)
            for (c in 0 until packed.channels) sums[colours[c]] += packed.data[p * packed.channels + c].toDouble()
            for (k in 0 until 3) out[p * 3 + k] = minOf(sums[k] / counts[k] * wb[k], 1.0).pow(1 / 2.2).toFloat()
        }
        return out
    }

    private fun byte(v: Float): Int = (minOf(maxOf(v, 0f), 1f) * 255).roundToInt()
}
