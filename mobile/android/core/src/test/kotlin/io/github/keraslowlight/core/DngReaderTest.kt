package io.github.keraslowlight.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/** The reader on files written here: containers, bit depths and layouts Python's fixtures do not cover. */
class DngReaderTest {
    private fun mosaicOf(frame: RawFrame): IntArray = IntArray(frame.width * frame.height) { frame.mosaic[it].toInt() and 0xffff }

    @Test
    fun readsLittleAndBigEndianStrips() {
        for (big in listOf(false, true)) {
            val dng = TestDng(30, 24, "GBRG", bigEndian = big)
            val frame = DngReader.read(dng.bytes())
            assertEquals("GBRG", frame.cfaPattern)
            assertEquals(30, frame.width)
            assertEquals(24, frame.height)
            assertArrayEquals(dng.mosaic, mosaicOf(frame))
            assertEquals(65535.0, frame.whiteLevel, 0.0)
        }
    }

    @Test
    fun readsPackedBitDepthsAndTiles() {
        for (bits in listOf(8, 10, 12, 14, 16)) {
            for (tile in listOf(0, 16)) {
                val dng = TestDng(37, 29, "BGGR", bits = bits, tile = tile)
                val frame = DngReader.read(dng.bytes())
                assertArrayEquals("bits $bits tile $tile", dng.mosaic, mosaicOf(frame))
                assertEquals(((1 shl bits) - 1).toDouble(), frame.whiteLevel, 0.0)
            }
        }
    }

    @Test
    fun readsLevelsExposureAndActiveArea() {
        val extra = listOf(
            Triple(50713, 3, longArrayOf(2, 2)),
            Triple(50714, 4, longArrayOf(500, 510, 520, 530)),
            Triple(33434, 5, longArrayOf(1)),
            Triple(50829, 4, longArrayOf(1, 2, 23, 30))
        )
        val dng = TestDng(32, 24, "RGGB", extra = extra)
        val frame = DngReader.read(dng.bytes())
        // An odd top margin is cropped at the next even row (LibRaw), which shifts the pattern by one row.
        assertEquals(28, frame.width)
        assertEquals(21, frame.height)
        assertEquals("GBRG", frame.cfaPattern)
        assertArrayEquals(doubleArrayOf(520.0, 530.0, 500.0, 510.0), frame.blackLevels, 0.0)
        assertEquals(dng.mosaic[2 * 32 + 2], frame.sample(0, 0))
        assertEquals(1.0, frame.exposureTime!!, 0.0)
    }

    private fun assertRejected(bytes: ByteArray, fragment: String) {
        try {
            DngReader.read(bytes)
            fail("accepted a file that should be rejected ($fragment)")
        } catch (e: DngException) {
            val message = e.message ?: ""
            assertTrue("'$message' should mention '$fragment'", message.contains(fragment))
            assertTrue("one line: '$message'", !message.contains('\n'))
        }
    }

    @Test
    fun rejectsBadInputWithOneLine() {
        val good = TestDng(30, 24).bytes()
        assertRejected(ByteArray(0), "not a DNG")
        assertRejected("this is not a raw file\n".repeat(20).toByteArray(), "not a TIFF/DNG")
        assertRejected(byteArrayOf(0x49, 0x49, 7, 0, 8, 0, 0, 0, 0, 0), "bad magic")
        assertRejected(good.copyOf(good.size / 3), "truncated")
        assertRejected(good.copyOf(good.size - 10), "truncated")
        assertRejected(TestDng(30, 24, photometric = 34892).bytes(), "linear")
        assertRejected(TestDng(30, 24, compression = 7).bytes(), "uncompressed")
        assertRejected(TestDng(30, 24, bits = 16, extra = listOf(Triple(50712, 3, longArrayOf(0, 1)))).bytes(), "LinearizationTable")
    }

    @Test
    fun rejectsUnpackablePatterns() {
        val frame = DngReader.read(TestDng(36, 36, "RGGBRG".repeat(6)).bytes())
        try {
            Packer.pack(frame, 1.0, 300.0)
            fail("packed a 6x6 layout that is no X-Trans phase")
        } catch (e: DngException) {
            assertTrue(e.message!!.contains("unsupported 6x6 CFA layout"))
        }
    }
}
