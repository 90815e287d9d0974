package io.github.keraslowlight

import android.content.Context
import android.util.Log
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import kotlin.math.ceil
import kotlin.math.min

/**
 * Runs the fixed-shape model over a packed frame by overlapping tiles, keeping each tile's core —
 * the algorithm of keras_lowlight/runtime.py enhance_frame (shrink=False) and mobile/web/pipeline.js.
 * LiteRT CompiledModel API (Kotlin): CompiledModel.create(assets, name, Options(accelerator), env),
 * createInputBuffers / createOutputBuffers, writeFloat, run, readFloat (ai.google.dev/edge/litert).
 */
class Enhancer(context: Context, private val contract: ModelContract) : AutoCloseable {
    private val env = Environment.create()
    private val model: CompiledModel
    val accelerator: Accelerator

    init {
        var chosen = Accelerator.GPU
        model = try {
            CompiledModel.create(context.assets, contract.assetName, CompiledModel.Options(Accelerator.GPU), env)
        } catch (e: Exception) {
            Log.w("lowlight", "GPU accelerator unavailable (${e.message}); using CPU")
            chosen = Accelerator.CPU
            CompiledModel.create(context.assets, contract.assetName, CompiledModel.Options(Accelerator.CPU), env)
        }
        accelerator = chosen
    }

    private val inputs = model.createInputBuffers()
    private val outputs = model.createOutputBuffers()

    /** (s·h, s·w, 3) float sRGB, not yet clipped. */
    fun enhance(packed: Packed, onTile: (Int, Int) -> Unit = { _, _ -> }): FloatArray {
        val t = contract.tileSize
        val o = contract.overlap
        val core = t - 2 * o
        val s = contract.scale
        val (h, w, c) = Triple(packed.height, packed.width, packed.channels)
        val rows = ceil(h / core.toDouble()).toInt()
        val cols = ceil(w / core.toDouble()).toInt()
        val out = FloatArray(h * s * w * s * 3)
        val tile = FloatArray(t * t * c)
        for (r in 0 until rows) for (q in 0 until cols) {
            val y0 = r * core
            val x0 = q * core
            for (y in 0 until t) {
                val sy = mirror(y0 - o + y, h)
                for (x in 0 until t) {
                    val sx = mirror(x0 - o + x, w)
                    System.arraycopy(packed.data, (sy * w + sx) * c, tile, (y * t + x) * c, c)
                }
            }
            inputs[0].writeFloat(tile)
            model.run(inputs, outputs)
            val result = outputs[0].readFloat()
            val coreH = min(core, h - y0)
            val coreW = min(core, w - x0)
            for (y in 0 until coreH * s) {
                val src = ((o * s + y) * t * s + o * s) * 3
                val dst = ((y0 * s + y) * w * s + x0 * s) * 3
                System.arraycopy(result, src, out, dst, coreW * s * 3)
            }
            onTile(r * cols + q + 1, rows * cols)
        }
        return out
    }

    /** numpy.pad(mode="symmetric") index mapping. */
    private fun mirror(i: Int, n: Int): Int {
        val period = 2 * n
        val j = ((i % period) + period) % period
        return if (j < n) j else period - 1 - j
    }

    override fun close() {
        inputs.forEach { it.close() }
        outputs.forEach { it.close() }
        model.close()
        env.close()
    }
}
