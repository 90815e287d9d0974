package io.github.keraslowlight.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/** Packing rules on hand-made mosaics (the goldens against Python are in GoldenTest). */
class PackingTest {
    private fun frame(pattern: String, width: Int, height: Int, value: (Int, Int) -> Int, black: Double = 0.0, white: Double = 65535.0): RawFrame {
        val period = if (pattern.length == 4) 2 else 6
        val mosaic = ShortArray(width * height) { value(it / width, it % width).toShort() }
        return RawFrame(width, height, mosaic, pattern, DoubleArray(period * period) { black }, white, null, null, null)
    }

    @Test
    fun bayerChannelsAreRG1BG2InEveryOrder() {
        for (pattern in PackingLayout.BAYER_PATTERNS) {
            // Each site holds its colour's code: R 1, G on R's row 2, B 3, G on B's row 4.
            val r = pattern.indexOf('R')
            val code = { y: Int, x: Int ->
                val site = (y % 2) * 2 + x % 2
                when {
                    pattern[site] == 'R' -> 1
                    pattern[site] == 'B' -> 3
                    site / 2 == r / 2 -> 2
                    else -> 4
                }
            }
            val packed = Packer.pack(frame(pattern, 6, 4, code), 1.0, 300.0)
            assertEquals(2, packed.height)
            assertEquals(3, packed.width)
            for (p in 0 until 6) {
                val px = FloatArray(4) { packed.data[p * 4 + it] * 65535f }
                assertArrayEquals(pattern, floatArrayOf(1f, 2f, 3f, 4f), px, 1e-3f)
            }
        }
    }

    @Test
    fun xtransPackingIsAPermutation() {
        // Shifted by (1, 2): the packer crops that phase away first, as packing.py does.
        val shifted = PackingLayout.XTRANS_REFERENCE.let { ref -> String(CharArray(36) { ref[((it / 6 + 5) % 6) * 6 + (it % 6 + 4) % 6] }) }
        val layout = PackingLayout.forPattern(shifted)
        assertEquals(1, layout.offsetY)
        assertEquals(2, layout.offsetX)
        val width = 26
        val height = 25
        val packed = Packer.pack(frame(shifted, width, height, { y, x -> y * width + x + 1 }), 1.0, 300.0)
        assertEquals(8, packed.height)
        assertEquals(8, packed.width)
        assertEquals(9, packed.channels)
        val seen = packed.data.map { Math.round(it * 65535f) }.toSet()
        assertEquals(packed.data.size, seen.size)
        val expected = HashSet<Int>()
        for (y in 1 until 25) for (x in 2 until 26) expected.add(y * width + x + 1)
        assertEquals(expected, seen)
    }

    @Test
    fun normalisesAmplifiesAndClips() {
        val f = frame("RGGB", 2, 2, { y, x -> listOf(400, 510, 1600, 9000)[y * 2 + x] }, black = 500.0, white = 8500.0)
        val packed = Packer.pack(f, 2000.0, 300.0)
        assertArrayEquals(floatArrayOf(0f, 0.375f, 1f, 1f), packed.data, 1e-6f)
    }

    @Test
    fun ratioRuleMatchesPython() {
        // 24 x 24 RGGB frame, black 100, white 1100: 4 blocks of 12 x 12 at levels 0.01, 0.02, 0.04, 0.5.
        val levels = doubleArrayOf(0.01, 0.02, 0.04, 0.5)
        val f = frame("RGGB", 24, 24, { y, x -> (100 + 1000 * levels[(y / 12) * 2 + x / 12]).toInt() }, black = 100.0, white = 1100.0)
        val rule = RatioRule(10.0, 300.0, AutoRatioRule(0.12, 12, 1e-4))
        assertEquals(0.12 / 0.03, rule.ratioFor(f), 1e-9)  // no SID name: the median block level decides
        assertEquals(300.0, rule.ratioFor(f, "10034_00_0.01s.ARW"), 0.0)
        assertEquals(1.0, rule.ratioFor(f, "00001_00_30s.dng"), 0.0)
        assertEquals(250.0, rule.ratioFor(f, "content://x/00001_00_0.04s.ARW"), 1e-9)
        assertEquals(0.033, RatioRule.exposureFromName("content://x/10034_00_0.033s.ARW")!!, 0.0)
        try {
            rule.ratioFor(frame("RGGB", 24, 24, { _, _ -> 100 }, black = 100.0, white = 1100.0), "IMG_1.dng")
            fail("a frame at the black level has no usable signal")
        } catch (e: DngException) {
            assertTrue(e.message!!.contains("no usable signal"))
        }
    }
}
