package io.github.keraslowlight

import java.nio.ByteBuffer
import java.nio.ByteOrder

/** An uncompressed 16-bit CFA DNG (as keras_lowlight.dng writes, and many phones export). */
class RawFrame(
    val width: Int,
    val height: Int,
    val mosaic: ShortArray, // unsigned 16-bit values
    val cfaPattern: String, // e.g. "RGGB"
    val blackLevels: DoubleArray, // per CFA site, row-major
    val whiteLevel: Double,
    val exposureTime: Double?,
)

/** Minimal TIFF/DNG walk: IFD chain → the IFD with PhotometricInterpretation 32803 (CFA). */
object DngReader {
    private val typeSize = mapOf(1 to 1, 2 to 1, 3 to 2, 4 to 4, 5 to 8, 7 to 1, 9 to 4, 10 to 8, 11 to 4, 12 to 8)

    fun read(bytes: ByteArray): RawFrame {
        require(bytes.size >= 8) { "not a DNG: file too small" }
        val order = when (String(bytes, 0, 2, Charsets.US_ASCII)) {
            "II" -> ByteOrder.LITTLE_ENDIAN
            "MM" -> ByteOrder.BIG_ENDIAN
            else -> throw IllegalArgumentException("not a TIFF/DNG file")
        }
        val buf = ByteBuffer.wrap(bytes).order(order)
        require(buf.getShort(2).toInt() == 42) { "not a TIFF/DNG file (bad magic)" }
        var offset = buf.getInt(4).toLong() and 0xffffffffL
        var tags: Map<Int, DoubleArray>? = null
        var guard = 0
        while (offset != 0L && guard++ < 16) {
            val (ifd, next) = readIfd(buf, offset.toInt())
            if (ifd[262]?.get(0) == 32803.0) { tags = ifd; break }
            offset = next
        }
        val t = tags ?: throw IllegalArgumentException("no CFA image (linear DNGs are not supported)")
        val width = t.getValue(256)[0].toInt()
        val height = t.getValue(257)[0].toInt()
        require((t[258]?.get(0) ?: 16.0) == 16.0) { "only 16-bit CFA data is supported" }
        require((t[259]?.get(0) ?: 1.0) == 1.0) { "only uncompressed DNGs are supported" }
        val dims = t[33421] ?: doubleArrayOf(2.0, 2.0)
        val codes = t[33422] ?: throw IllegalArgumentException("missing CFAPattern")
        val sites = (dims[0] * dims[1]).toInt()
        val pattern = codes.joinToString("") { "RGB"[it.toInt()].toString() }
        val mosaic = ShortArray(width * height)
        var k = 0
        val offsets = t.getValue(273)
        val counts = t.getValue(279)
        for (s in offsets.indices) {
            val start = offsets[s].toInt()
            val end = start + counts[s].toInt()
            require(end <= bytes.size) { "truncated file (image data past the end)" }
            var b = start
            while (b + 1 < end && k < mosaic.size) { mosaic[k++] = buf.getShort(b); b += 2 }
        }
        require(k == mosaic.size) { "truncated image data" }
        val black = t[50714] ?: doubleArrayOf(0.0)
        val blackLevels = if (black.size == sites) black else DoubleArray(sites) { black[0] }
        return RawFrame(width, height, mosaic, pattern, blackLevels, t[50717]?.get(0) ?: 65535.0, t[33434]?.get(0))
    }

    private fun readIfd(buf: ByteBuffer, offset: Int): Pair<Map<Int, DoubleArray>, Long> {
        val tags = HashMap<Int, DoubleArray>()
        val n = buf.getShort(offset).toInt() and 0xffff
        for (i in 0 until n) {
            val entry = offset + 2 + i * 12
            val tag = buf.getShort(entry).toInt() and 0xffff
            val type = buf.getShort(entry + 2).toInt() and 0xffff
            val count = buf.getInt(entry + 4)
            val size = typeSize[type] ?: continue
            val at = if (size * count <= 4) entry + 8 else buf.getInt(entry + 8)
            tags[tag] = DoubleArray(count) { j -> value(buf, type, at + j * size) }
        }
        return tags to (buf.getInt(offset + 2 + n * 12).toLong() and 0xffffffffL)
    }

    private fun value(buf: ByteBuffer, type: Int, at: Int): Double = when (type) {
        1, 2, 7 -> (buf.get(at).toInt() and 0xff).toDouble()
        3 -> (buf.getShort(at).toInt() and 0xffff).toDouble()
        4 -> (buf.getInt(at).toLong() and 0xffffffffL).toDouble()
        9 -> buf.getInt(at).toDouble()
        5 -> (buf.getInt(at).toLong() and 0xffffffffL).toDouble() / (buf.getInt(at + 4).toLong() and 0xffffffffL)
        10 -> buf.getInt(at).toDouble() / buf.getInt(at + 4)
        11 -> buf.getFloat(at).toDouble()
        else -> buf.getDouble(at)
    }
}
