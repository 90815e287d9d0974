package io.github.keraslowlight

import org.json.JSONObject

/** The parts of mobile/MODEL_CONTRACT.json the app needs; read from assets, never hard-coded. */
data class ModelContract(
    val file: String,
    val signature: String,
    val inputName: String,
    val outputName: String,
    val channels: Int,
    val scale: Int,
    val tileSize: Int,
    val overlap: Int,
    val multiple: Int,
    val defaultTargetExposure: Double,
    val defaultRatio: Double,
    val maxRatio: Double,
) {
    /** The asset name of the model file (the Gradle task copies it flat into assets). */
    val assetName: String get() = file.substringAfterLast('/')

    companion object {
        /** Picks the Bayer int8 entry with a fixed input shape: CompiledModel compiles one shape. */
        fun parse(json: String): ModelContract {
            val root = JSONObject(json)
            val pre = root.getJSONObject("preprocessing").getJSONObject("ratio")
            val models = root.getJSONArray("models")
            for (i in 0 until models.length()) {
                val m = models.getJSONObject(i)
                val tile = m.getJSONObject("tile")
                if (m.getString("cfa") == "bayer" && m.getString("quantization") == "int8" && tile.getBoolean("fixed")) {
                    return ModelContract(
                        file = m.getString("file"),
                        signature = m.getString("signature"),
                        inputName = m.getJSONObject("input").getString("name"),
                        outputName = m.getJSONObject("output").getString("name"),
                        channels = m.getJSONObject("input").getInt("channels"),
                        scale = m.getInt("scale"),
                        tileSize = tile.getInt("size"),
                        overlap = tile.getInt("overlap"),
                        multiple = tile.getInt("multiple"),
                        defaultTargetExposure = pre.getDouble("default_target_exposure_s"),
                        defaultRatio = pre.getDouble("default"),
                        maxRatio = pre.getDouble("max"),
                    )
                }
            }
            error("MODEL_CONTRACT.json has no fixed-shape int8 Bayer model")
        }
    }
}
