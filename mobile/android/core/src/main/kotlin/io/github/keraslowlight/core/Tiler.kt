package io.github.keraslowlight.core

/**
 * What the tiler needs from a model: one (height, width, channels) tile → (scale·height,
 * scale·width, outputChannels), both NHWC float32 row-major. The app implements it with LiteRT's
 * CompiledModel; the tests with a Kotlin function that Python computes too.
 */
interface TileModel {
    val channels: Int
    val scale: Int
    val outputChannels: Int

    fun run(tile: FloatArray, height: Int, width: Int): FloatArray
}

/** (tile, overlap, core) along one axis: keras_lowlight.runtime.engine.tile_plan. */
class TilePlan(val tile: Int, val overlap: Int, val core: Int) {
    companion object {
        private fun roundUp(value: Int, multiple: Int): Int = (value + multiple - 1) / multiple * multiple

        /** Aligned to `multiple` (tile origins stay on a pooling network's grid); shrunk for small frames. */
        fun of(size: Int, tile: Int, overlap: Int, multiple: Int, shrink: Boolean): TilePlan {
            val o = roundUp(maxOf(0, overlap), multiple)
            var t = roundUp(maxOf(1, tile), multiple)
            require(t > 2 * o) { "tile $t leaves no core with overlap $o on each side (after aligning to $multiple)" }
            if (shrink) t = minOf(t, roundUp(size, multiple) + 2 * o)
            return TilePlan(t, o, t - 2 * o)
        }
    }
}

/**
 * Runs a model over a packed frame by overlapping tiles and keeps each tile's core:
 * keras_lowlight.runtime.engine.enhance_frame's algorithm (and mobile/web/pipeline.js's), so only
 * tile-sized buffers are ever handed to the model.
 */
object Tiler {
    /**
     * (scale·H, scale·W, outputChannels) float32, not clipped. `shrink = false` keeps every tile at
     * exactly `tile` (a model compiled for one input shape); `onTile(done, total)` reports progress.
     */
    fun enhance(
        model: TileModel,
        packed: Packed,
        tile: Int,
        overlap: Int,
        multiple: Int,
        shrink: Boolean,
        onTile: (Int, Int) -> Unit = { _, _ -> }
    ): FloatArray {
        val h = packed.height
        val w = packed.width
        val c = packed.channels
        require(c == model.channels) { "frame has $c channels but the model takes ${model.channels}" }
        require(h >= 1 && w >= 1) { "empty frame ${h}x$w" }
        val s = model.scale
        val k = model.outputChannels
        val ph = TilePlan.of(h, tile, overlap, multiple, shrink)
        val pw = TilePlan.of(w, tile, overlap, multiple, shrink)
        val rows = (h + ph.core - 1) / ph.core
        val cols = (w + pw.core - 1) / pw.core
        val out = FloatArray(h * s * w * s * k)
        val buffer = FloatArray(ph.tile * pw.tile * c)
        for (r in 0 until rows) for (q in 0 until cols) {
            val y0 = r * ph.core
            val x0 = q * pw.core
            for (y in 0 until ph.tile) {
                val sy = mirror(y0 - ph.overlap + y, h)
                for (x in 0 until pw.tile) {
                    val sx = mirror(x0 - pw.overlap + x, w)
                    System.arraycopy(packed.data, (sy * w + sx) * c, buffer, (y * pw.tile + x) * c, c)
                }
            }
            val result = model.run(buffer, ph.tile, pw.tile)
            require(result.size == ph.tile * s * pw.tile * s * k) {
                "model returned ${result.size} values for a ${ph.tile}x${pw.tile} tile; expected x$s and $k channels"
            }
            val coreH = minOf(ph.core, h - y0)
            val coreW = minOf(pw.core, w - x0)
            for (y in 0 until coreH * s) {
                val src = ((ph.overlap * s + y) * pw.tile * s + pw.overlap * s) * k
                val dst = ((y0 * s + y) * w * s + x0 * s) * k
                System.arraycopy(result, src, out, dst, coreW * s * k)
            }
            onTile(r * cols + q + 1, rows * cols)
        }
        return out
    }

    /** numpy.pad(mode="symmetric") index mapping, any pad width. */
    fun mirror(i: Int, n: Int): Int {
        val period = 2 * n
        val j = ((i % period) + period) % period
        return if (j < n) j else period - 1 - j
    }
}
