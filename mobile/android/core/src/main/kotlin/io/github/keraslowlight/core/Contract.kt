package io.github.keraslowlight.core

import org.json.JSONException
import org.json.JSONObject

/** MODEL_CONTRACT.json is missing something the app needs, or holds a value it cannot use. */
class ContractException(message: String) : IllegalArgumentException(message)

/** Tiling advice of one model: sizes in packed pixels. */
class TileAdvice(val multiple: Int, val size: Int, val overlap: Int, val fixed: Boolean)

/** One shipped `.tflite` as the contract describes it (keys the app does not know are ignored). */
class ModelEntry(
    val file: String,
    val cfa: String,
    val signature: String,
    val inputName: String,
    val outputName: String,
    val channels: Int,
    val inputShape: IntArray,
    val outputChannels: Int,
    val scale: Int,
    val quantization: String,
    /** "srgb" (the default) or "raw" for a RAW-head model whose output is still to be rendered. */
    val head: String,
    val tile: TileAdvice
) {
    /** The asset name of the model file (the Gradle task copies it flat into assets). */
    val assetName: String get() = file.substringAfterLast('/')
}

/**
 * mobile/MODEL_CONTRACT.json, the only place the app takes its settings from: preprocessing rules
 * and one entry per shipped model. Written by keras_lowlight/runtime/contract.py.
 */
class ModelContract(val ratio: RatioRule, val models: List<ModelEntry>) {
    /**
     * The model the app runs for a CFA kind: a fixed input shape when `fixedShape` (LiteRT's
     * CompiledModel compiles one shape), of the given head ("srgb": the output is the image),
     * preferring int8, then float16, then float32.
     */
    fun select(cfa: String, fixedShape: Boolean = true, head: String = "srgb"): ModelEntry {
        val order = listOf("int8", "float16", "float32")
        var best: ModelEntry? = null
        for (m in models) {
            if (m.cfa != cfa || m.tile.fixed != fixedShape || m.head != head || m.quantization !in order) continue
            if (best == null || order.indexOf(m.quantization) < order.indexOf(best.quantization)) best = m
        }
        val shape = if (fixedShape) "fixed-shape" else "dynamic-shape"
        val kind = if (head == "srgb") "" else "$head-head "
        return best ?: throw ContractException("MODEL_CONTRACT.json has no $shape $kind$cfa model")
    }

    companion object {
        fun parse(json: String): ModelContract {
            val root = try {
                JSONObject(json)
            } catch (e: JSONException) {
                throw ContractException("MODEL_CONTRACT.json is not valid JSON (${e.message})")
            }
            val ratio = field("preprocessing.ratio") {
                val r = root.getJSONObject("preprocessing").getJSONObject("ratio")
                val max = r.getDouble("max")
                val auto = r.optJSONObject("auto")?.let { autoRule(it) }
                RatioRule(r.getDouble("default_target_exposure_s"), max, auto)
            }
            if (ratio.maxRatio < 1 || ratio.defaultTargetExposure <= 0) {
                throw ContractException("MODEL_CONTRACT.json: preprocessing.ratio has unusable values")
            }
            val list = field("models") { root.getJSONArray("models") }
            val models = ArrayList<ModelEntry>()
            for (i in 0 until list.length()) models.add(field("models[$i]") { entry(list.getJSONObject(i)) })
            return ModelContract(ratio, models)
        }

        /** preprocessing.ratio.auto: `target_signal`, `block` (pixels) and `no_signal_level`. */
        private fun autoRule(auto: JSONObject): AutoRatioRule {
            val target = auto.getDouble("target_signal")
            if (!(target > 0 && target < 1)) throw JSONException("target_signal $target is not in (0, 1)")
            val block = auto.getInt("block")
            if (block < 1) throw JSONException("block $block is not a positive number of pixels")
            val noSignal = auto.getDouble("no_signal_level")
            if (!(noSignal >= 0 && noSignal < target)) throw JSONException("no_signal_level $noSignal is unusable")
            return AutoRatioRule(target, block, noSignal)
        }

        private fun entry(m: JSONObject): ModelEntry {
            val input = m.getJSONObject("input")
            val output = m.getJSONObject("output")
            val t = m.getJSONObject("tile")
            val shapeJson = input.getJSONArray("shape")
            val shape = IntArray(shapeJson.length()) { shapeJson.getInt(it) }
            val tile = TileAdvice(t.getInt("multiple"), t.getInt("size"), t.getInt("overlap"), t.getBoolean("fixed"))
            if (tile.multiple <= 0 || tile.size <= 2 * tile.overlap || tile.overlap < 0) {
                throw JSONException("tile advice (size ${tile.size}, overlap ${tile.overlap}, multiple ${tile.multiple}) is unusable")
            }
            val channels = input.getInt("channels")
            if (shape.size != 4 || shape[3] != channels) throw JSONException("input shape must be [1, h, w, $channels]")
            return ModelEntry(
                m.getString("file"), m.getString("cfa"), m.getString("signature"),
                input.getString("name"), output.getString("name"), channels, shape,
                output.getInt("channels"), m.getInt("scale"), m.getString("quantization"),
                m.optString("head", "srgb"), tile
            )
        }

        private inline fun <T> field(where: String, read: () -> T): T = try {
            read()
        } catch (e: JSONException) {
            throw ContractException("MODEL_CONTRACT.json: $where: ${e.message}")
        }
    }
}
