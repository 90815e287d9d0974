package io.github.keraslowlight.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test

/** Tiler properties that need no Python: tiled equals untiled for a local model, numpy's mirror rule. */
class TilerTest {
    private fun frame(h: Int, w: Int, c: Int): Packed =
        Packed(FloatArray(h * w * c) { ((it * 2654435761L) % 1000).toFloat() / 1000f }, h, w, c)

    @Test
    fun tiledEqualsUntiledWhenTheOverlapCoversTheReceptiveField() {
        for (c in listOf(4, 9)) {
            val s = if (c == 4) 2 else 3
            for (size in listOf(intArrayOf(37, 53), intArrayOf(5, 70), intArrayOf(16, 16))) {
                val packed = frame(size[0], size[1], c)
                val model = StandInModel(c, s)
                val whole = model.run(packed.data, packed.height, packed.width)
                for (shrink in listOf(true, false)) {
                    val tiled = Tiler.enhance(model, packed, 32, 8, 8, shrink)
                    // The stand-in sees one pixel up and left: away from the frame's own top/left edge
                    // its output is exact, and at that edge mirror padding repeats the edge pixel.
                    val w = packed.width * s
                    for (y in s until packed.height * s) for (x in s * 3 until w * 3) {
                        assertEquals("c=$c ${size.toList()} shrink=$shrink at ($y, ${x / 3})", whole[y * w * 3 + x], tiled[y * w * 3 + x], 0f)
                    }
                }
            }
        }
    }

    @Test
    fun mirrorIsNumpySymmetricPadding() {
        // numpy.pad(np.arange(3), 7, mode="symmetric")
        val expected = intArrayOf(0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2)
        assertArrayEquals(expected, IntArray(17) { Tiler.mirror(it - 7, 3) })
    }

    @Test
    fun planMatchesRuntimeTilePlan() {
        val p = TilePlan.of(23, 48, 16, 16, true)
        assertEquals(48, p.tile)
        assertEquals(16, p.core)
        val small = TilePlan.of(5, 256, 32, 16, true)
        assertEquals(16 + 64, small.tile)
        val fixed = TilePlan.of(5, 256, 32, 16, false)
        assertEquals(256, fixed.tile)
        assertEquals(192, fixed.core)
    }

    @Test
    fun reportsProgressAndUsesOneTileShape() {
        val packed = frame(40, 50, 4)
        val shapes = HashSet<String>()
        val model = object : TileModel {
            override val channels = 4
            override val scale = 2
            override val outputChannels = 3
            override fun run(tile: FloatArray, height: Int, width: Int): FloatArray {
                shapes.add("${height}x$width")
                return FloatArray(height * 2 * width * 2 * 3)
            }
        }
        var last = intArrayOf(0, 0)
        Tiler.enhance(model, packed, 32, 8, 8, false) { done, total -> last = intArrayOf(done, total) }
        assertEquals(setOf("32x32"), shapes)
        assertEquals(last[1], last[0])
        assertEquals(3 * 4, last[1])
    }
}
