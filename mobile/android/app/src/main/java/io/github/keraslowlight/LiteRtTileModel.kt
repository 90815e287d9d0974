package io.github.keraslowlight

import android.content.Context
import android.util.Log
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import io.github.keraslowlight.core.ModelEntry
import io.github.keraslowlight.core.TileModel

/**
 * The one Android-only piece of the pipeline: a contract entry's `.tflite` from the APK's assets
 * through LiteRT 2.3's CompiledModel, GPU first with a CPU fallback. Everything around it — reading,
 * packing, tiling, stitching — is mobile/android/core, tested against Python on every CI run.
 * API: CompiledModel.create(assets, name, Options(accelerator), env), createInputBuffers /
 * createOutputBuffers(signature), writeFloat, run(inputs, outputs, signature), readFloat
 * (ai.google.dev/edge/litert/next/android_kotlin).
 */
class LiteRtTileModel(context: Context, private val entry: ModelEntry) : TileModel, AutoCloseable {
    override val channels: Int = entry.channels
    override val scale: Int = entry.scale
    override val outputChannels: Int = entry.outputChannels

    private val env = Environment.create()
    private val model: CompiledModel
    val accelerator: Accelerator

    init {
        var chosen = Accelerator.GPU
        model = try {
            CompiledModel.create(context.assets, entry.assetName, CompiledModel.Options(Accelerator.GPU), env)
        } catch (e: Exception) {
            Log.w("lowlight", "GPU accelerator unavailable (${e.message}); using CPU")
            chosen = Accelerator.CPU
            CompiledModel.create(context.assets, entry.assetName, CompiledModel.Options(Accelerator.CPU), env)
        }
        accelerator = chosen
    }

    // Buffers of the contract's signature (`enhance`), allocated once: every tile has the same shape.
    private val inputs = model.createInputBuffers(entry.signature)
    private val outputs = model.createOutputBuffers(entry.signature)

    /** One fixed-shape tile (the contract's tile size: CompiledModel compiles one input shape). */
    override fun run(tile: FloatArray, height: Int, width: Int): FloatArray {
        require(height == entry.tile.size && width == entry.tile.size) {
            "${entry.file} takes ${entry.tile.size}x${entry.tile.size} tiles, got ${height}x$width"
        }
        inputs[0].writeFloat(tile)
        model.run(inputs, outputs, entry.signature)
        return outputs[0].readFloat()
    }

    override fun close() {
        inputs.forEach { it.close() }
        outputs.forEach { it.close() }
        model.close()
        env.close()
    }
}
