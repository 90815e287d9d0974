package io.github.keraslowlight.core

import org.json.JSONObject
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test
import org.junit.runner.RunWith
import org.junit.runners.Parameterized
import java.io.File

/** DNG → packed input, against keras_lowlight's prepare_input on the same file: equal to the bit. */
@RunWith(Parameterized::class)
class PackingGoldenTest(private val name: String, private val case: JSONObject) {
    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun cases(): Collection<Array<Any>> = Fixtures.cases("packing")
    }

    @Test
    fun packedInputEqualsPython() {
        Fixtures.assumePresent(case)
        val contract = ModelContract.parse(File("../../MODEL_CONTRACT.json").readText())
        val frame = DngReader.read(File(case.getString("dng")).readBytes())
        assertEquals(case.getString("cfa"), frame.cfaPattern)
        val ratio = contract.ratio.ratioFor(frame, case.getString("file_name"))
        val expectedRatio = case.getDouble("ratio")
        assertEquals(expectedRatio, ratio, 1e-12 * expectedRatio)
        val packed = Packer.pack(frame, ratio, contract.ratio.maxRatio)
        val shape = Fixtures.intArray(case.getJSONArray("shape"))
        assertArrayEquals(shape, intArrayOf(packed.height, packed.width, packed.channels))
        val expected = Fixtures.floats(case.getString("packed"))
        val diff = Fixtures.maxAbsDiff(expected, packed.data)
        println("packing $name: ${frame.width}x${frame.height} ${if (frame.cfaPattern.length == 4) frame.cfaPattern else "X-Trans"} -> " +
            "${packed.height}x${packed.width}x${packed.channels}, ratio $ratio, max |kotlin - python| = $diff")
        assertEquals("max abs difference", 0.0, diff, 0.0)
    }
}

/** Tiler + stitcher with the stand-in model, against keras_lowlight.runtime.engine.enhance_frame. */
@RunWith(Parameterized::class)
class TilingGoldenTest(private val name: String, private val case: JSONObject) {
    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun cases(): Collection<Array<Any>> = Fixtures.cases("tiling")
    }

    @Test
    fun tiledOutputEqualsPython() {
        Fixtures.assumePresent(case)
        val shape = Fixtures.intArray(case.getJSONArray("shape"))
        val packed = Packed(Fixtures.floats(case.getString("input")), shape[0], shape[1], shape[2])
        val model = StandInModel(shape[2], case.getInt("scale"), case.getInt("out_channels"))
        val out = Tiler.enhance(model, packed, case.getInt("tile"), case.getInt("overlap"), case.getInt("multiple"), case.getBoolean("shrink"))
        val expected = Fixtures.floats(case.getString("expected"))
        val diff = Fixtures.maxAbsDiff(expected, out)
        println("tiling $name: ${shape[0]}x${shape[1]}x${shape[2]}, tile ${case.getInt("tile")} overlap ${case.getInt("overlap")} " +
            "shrink ${case.getBoolean("shrink")}, output x${model.scale} ${model.outputChannels} channels, ${model.calls} tiles, max |kotlin - python| = $diff")
        assertEquals(case.getInt("tiles"), model.calls)
        assertEquals("max abs difference", 0.0, diff, 0.0)
    }
}

/** The render after a RAW-head model, against keras_lowlight.runtime.isp.render_packed on the same packed RAW. */
@RunWith(Parameterized::class)
class RenderGoldenTest(private val name: String, private val case: JSONObject) {
    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun cases(): Collection<Array<Any>> = Fixtures.cases("render")

        private fun doubles(json: org.json.JSONArray): DoubleArray = DoubleArray(json.length()) { json.getDouble(it) }
    }

    @Test
    fun renderEqualsPython() {
        Fixtures.assumePresent(case)
        val shape = Fixtures.intArray(case.getJSONArray("shape"))
        val packed = Packed(Fixtures.floats(case.getString("input")), shape[0], shape[1], shape[2])
        val cfa = case.getString("cfa")
        val expected = Fixtures.floats(case.getString("expected"))
        // The arithmetic, with Python's white balance and matrix: equal up to float summation order.
        val pythonWb = doubles(case.getJSONArray("white_balance"))
        val pythonXyz = doubles(case.getJSONArray("xyz_to_cam"))
        val diff = Fixtures.maxAbsDiff(expected, Render.packed(packed, cfa, pythonWb, pythonXyz))
        // The whole path on the phone: white balance and matrix read from the DNG by DngReader.
        val frame = DngReader.read(File(case.getString("dng")).readBytes())
        val ownWb = Render.whiteBalance(frame)
        var wbDiff = 0.0
        for (c in 0 until 3) wbDiff = maxOf(wbDiff, Math.abs(ownWb[c] - pythonWb[c]) / pythonWb[c])
        val own = Fixtures.maxAbsDiff(expected, Render.packed(packed, cfa, ownWb, frame.colorMatrix))
        println("render $name: ${shape[0]}x${shape[1]}x${shape[2]} -> ${expected.size / 3} px, " +
            "max |kotlin - python| with Python's colour = $diff, with the DNG's own = $own (white balance rel. diff $wbDiff)")
        assertEquals("render with Python's colour", 0.0, diff, 1e-6)
        assertEquals("white balance from AsShotNeutral", 0.0, wbDiff, 1e-6)
        assertEquals("render with the DNG's colour", 0.0, own, 1e-5)
    }
}

/** The automatic ratio (keras_lowlight.runtime.exposure.estimate_ratio) and the input it gives, or its refusal. */
@RunWith(Parameterized::class)
class AutoRatioGoldenTest(private val name: String, private val case: JSONObject) {
    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun cases(): Collection<Array<Any>> = Fixtures.cases("auto")
    }

    @Test
    fun automaticRatioEqualsPython() {
        Fixtures.assumePresent(case)
        val contract = ModelContract.parse(File("../../MODEL_CONTRACT.json").readText())
        val frame = DngReader.read(File(case.getString("dng")).readBytes())
        if (case.has("error")) {
            try {
                contract.ratio.autoRatioFor(frame)
                org.junit.Assert.fail("$name: Python refuses it (${case.getString("error")}), Kotlin accepted it")
            } catch (e: DngException) {
                println("auto ratio $name: refused")
                org.junit.Assert.assertTrue(e.message!!.contains("no usable signal"))
            }
            return
        }
        val ratio = contract.ratio.autoRatioFor(frame)
        val expectedRatio = case.getDouble("ratio")
        val packed = Packer.pack(frame, ratio, contract.ratio.maxRatio)
        val diff = Fixtures.maxAbsDiff(Fixtures.floats(case.getString("packed")), packed.data)
        println("auto ratio $name: ratio $ratio (Python $expectedRatio), max |kotlin - python| = $diff")
        assertEquals(expectedRatio, ratio, 1e-12 * expectedRatio)
        assertEquals("packed input with the automatic ratio", 0.0, diff, 6e-8)
    }
}

/** Each contract entry as the Kotlin parser reads it = what its .tflite says of itself (Python LiteRT). */
@RunWith(Parameterized::class)
class ContractGoldenTest(private val name: String, private val case: JSONObject) {
    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun cases(): Collection<Array<Any>> = Fixtures.cases("contracts")
    }

    @Test
    fun entryMatchesTheModelFile() {
        Fixtures.assumePresent(case)
        val contract = ModelContract.parse(File("../../MODEL_CONTRACT.json").readText())
        val m = contract.models.first { it.file == case.getString("file") }
        assertEquals(case.getString("signature"), m.signature)
        assertEquals(case.getString("input_name"), m.inputName)
        assertEquals(case.getString("output_name"), m.outputName)
        assertEquals(case.getInt("channels"), m.channels)
        assertArrayEquals(Fixtures.intArray(case.getJSONArray("input_shape")), m.inputShape)
        assertEquals(case.getInt("output_channels"), m.outputChannels)
        assertEquals(case.getInt("scale"), m.scale)
        assertEquals(case.getString("quantization"), m.quantization)
        assertEquals(case.getString("head"), m.head)
        // A fixed-shape file's tile advice is its input size; the app feeds exactly that.
        if (m.tile.fixed) assertEquals(m.inputShape[1], m.tile.size)
        println("contract $name: ${m.cfa} ${m.quantization} ${m.head} head, input ${m.inputShape.toList()}, x${m.scale}: as the file says")
    }
}
