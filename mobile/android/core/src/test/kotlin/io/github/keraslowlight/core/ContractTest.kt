package io.github.keraslowlight.core

import org.json.JSONObject
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File

/** The contract parser on the repository's mobile/MODEL_CONTRACT.json (tests run in mobile/android/core). */
class ContractTest {
    private val text: String = File("../../MODEL_CONTRACT.json").readText()

    @Test
    fun parsesEveryEntryOfTheShippedContract() {
        val contract = ModelContract.parse(text)
        val raw = JSONObject(text).getJSONArray("models")
        assertEquals(raw.length(), contract.models.size)
        assertTrue(contract.models.isNotEmpty())
        for ((i, m) in contract.models.withIndex()) {
            val j = raw.getJSONObject(i)
            assertEquals(j.getString("file"), m.file)
            assertEquals(j.getString("cfa"), m.cfa)
            assertEquals(j.getJSONObject("input").getInt("channels"), m.channels)
            assertEquals(j.getInt("scale"), m.scale)
            assertEquals(j.getJSONObject("tile").getInt("size"), m.tile.size)
            assertEquals(j.getJSONObject("output").getInt("channels"), m.outputChannels)
            assertEquals(j.getJSONObject("tile").getBoolean("fixed"), m.tile.fixed)
        }
        val pre = JSONObject(text).getJSONObject("preprocessing").getJSONObject("ratio")
        assertEquals(pre.getDouble("max"), contract.ratio.maxRatio, 0.0)
        assertEquals(pre.getDouble("default_target_exposure_s"), contract.ratio.defaultTargetExposure, 0.0)
        assertEquals("auto", pre.getString("default"))
        assertEquals(pre.getJSONObject("auto").getDouble("target_signal"), contract.ratio.auto!!.targetSignal, 0.0)
    }

    @Test
    fun theAppRunsTheFixedShapeInt8BayerModel() {
        // As MainActivity picks: an sRGB-head model when one ships, else the RAW-head one (rendered in the app).
        val contract = ModelContract.parse(text)
        val m = try {
            contract.select("bayer")
        } catch (e: ContractException) {
            contract.select("bayer", head = "raw")
        }
        assertEquals("int8", m.quantization)
        assertTrue(m.tile.fixed)
        assertEquals(m.tile.size, m.inputShape[1])
        assertEquals("model_int8_tile256.tflite", m.assetName)
    }

    @Test
    fun toleratesKeysItDoesNotKnow() {
        val root = JSONObject(text)
        root.put("future_section", JSONObject().put("anything", 1))
        root.getJSONObject("preprocessing").getJSONObject("ratio").put("future_rule", JSONObject().put("rule", "later"))
        val m = root.getJSONArray("models").getJSONObject(0)
        m.put("head", "raw").put("render", JSONObject().put("isp", "keras_lowlight.runtime.isp"))
        val contract = ModelContract.parse(root.toString())
        assertEquals("raw", contract.models[0].head)
        val second = JSONObject(text).getJSONArray("models").getJSONObject(1)
        assertEquals(second.optString("head", "srgb"), contract.models[1].head)
    }

    @Test
    fun readsTheAutomaticRatioRule() {
        val root = JSONObject(text)
        val ratio = root.getJSONObject("preprocessing").getJSONObject("ratio")
        ratio.put("auto", JSONObject().put("target_signal", 0.1).put("block", 8).put("no_signal_level", 1e-4))
        val auto = ModelContract.parse(root.toString()).ratio.auto!!
        assertEquals(0.1, auto.targetSignal, 0.0)
        assertEquals(8, auto.block)
        assertEquals(1e-4, auto.noSignalLevel, 0.0)
        ratio.getJSONObject("auto").put("block", 0)
        assertBad(root.toString(), "block")
        ratio.remove("auto")
        val none = ModelContract.parse(root.toString()).ratio
        assertEquals(null, none.auto)
        try {
            none.autoRatioFor(RawFrame(2, 2, ShortArray(4), "RGGB", DoubleArray(4), 1.0, null, null, null))
            fail("an automatic ratio without the rule")
        } catch (e: ContractException) {
            assertTrue(e.message!!.contains("no automatic ratio rule"))
        }
        ratio.put("auto", JSONObject().put("target_signal", 7))
        assertBad(root.toString(), "target_signal")
    }

    @Test
    fun neverPicksARawHeadModelForTheImage() {
        // Every entry a RAW-head int8 fixed-shape Bayer model except one float16 sRGB one.
        val root = JSONObject(text)
        val models = root.getJSONArray("models")
        for (i in 0 until models.length()) {
            val m = models.getJSONObject(i)
            m.put("cfa", "bayer").put("quantization", "int8").put("head", "raw")
            m.getJSONObject("tile").put("fixed", true)
        }
        models.getJSONObject(1).put("quantization", "float16").put("head", "srgb")
        val contract = ModelContract.parse(root.toString())
        assertEquals("float16", contract.select("bayer").quantization)
        assertEquals("raw", contract.select("bayer", head = "raw").head)
    }

    private fun assertBad(json: String, fragment: String) {
        try {
            ModelContract.parse(json)
            fail("accepted a broken contract ($fragment)")
        } catch (e: ContractException) {
            val message = e.message ?: ""
            assertTrue("'$message' should mention '$fragment'", message.contains(fragment))
            assertTrue("one line: '$message'", !message.contains('\n'))
        }
    }

    @Test
    fun namesWhatIsWrongWithABrokenContract() {
        assertBad("{", "not valid JSON")
        assertBad("{}", "preprocessing")
        val root = JSONObject(text)
        root.getJSONArray("models").getJSONObject(1).remove("tile")
        assertBad(root.toString(), "models[1]")
        val tiny = JSONObject(text)
        tiny.getJSONArray("models").getJSONObject(0).getJSONObject("tile").put("overlap", 200)
        assertBad(tiny.toString(), "unusable")
        val none = JSONObject(text)
        none.put("models", org.json.JSONArray())
        try {
            ModelContract.parse(none.toString()).select("bayer")
            fail("selected a model from an empty list")
        } catch (e: ContractException) {
            assertTrue(e.message!!.contains("no fixed-shape bayer model"))
        }
    }
}
