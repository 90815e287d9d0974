package io.github.keraslowlight.core

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * A file this reader cannot use. The message is one line meant for the user, worded like the web
 * client's reader (mobile/web/dng.js) so the two clients and `lowlight` reject the same files alike.
 */
class DngException(message: String) : IllegalArgumentException(message)

/**
 * One CFA frame as read from a DNG: the visible mosaic and the levels needed to normalise it.
 *
 * `blackLevels` has one value per site of one CFA period, row-major (4 Bayer, 36 X-Trans), in the
 * frame's own coordinates (site (y % period, x % period) of `mosaic`), as keras_lowlight.runtime.raw.
 */
class RawFrame(
    val width: Int,
    val height: Int,
    /** Unsigned 16-bit samples, row-major; read with `toInt() and 0xffff`. */
    val mosaic: ShortArray,
    /** Row-major colour letters of one CFA period: "RGGB", or 36 letters for X-Trans. */
    val cfaPattern: String,
    val blackLevels: DoubleArray,
    val whiteLevel: Double,
    /** Seconds, from the file's ExposureTime (raw IFD, IFD0 or EXIF IFD); null when absent. */
    val exposureTime: Double?,
    /** AsShotNeutral (R, G, B): 1 / the camera's white-balance multipliers; null when absent. */
    val asShotNeutral: DoubleArray?,
    /** ColorMatrix1, XYZ → camera, row-major 3×3; null when absent. */
    val colorMatrix: DoubleArray?
) {
    val period: Int get() = if (cfaPattern.length == 4) 2 else 6

    /** Sample at (y, x) as an Int in 0..65535. */
    fun sample(y: Int, x: Int): Int = mosaic[y * width + x].toInt() and 0xffff
}

/**
 * A TIFF/DNG walk for uncompressed CFA DNGs (keras_lowlight.runtime.dng.write_dng's files, Android
 * DngCreator's RAW_SENSOR files, converters' uncompressed output): IFD chain and SubIFD trees,
 * strips or tiles, 8–16-bit samples (packed MSB-first below 16), ActiveArea crop.
 *
 * The CFA pattern is relative to the ActiveArea's origin. An odd ActiveArea margin of a 2×2 CFA
 * is cropped at the next even offset, as LibRaw (the Python reader) does, so packed arrays agree
 * bit for bit; an X-Trans ActiveArea is cropped exactly. (With a non-zero X-Trans ActiveArea,
 * rawpy 0.28 reports a pattern whose rows run backwards: such files are not compared with Python.)
 * Tags: Adobe DNG 1.4 specification, TIFF 6.0 for the container.
 */
object DngReader {
    private const val CFA = 32803
    private const val MAX_PIXELS = 1L shl 28 // 268 MP: far above any sensor, far below memory trouble
    private val typeSize = mapOf(1 to 1, 2 to 1, 3 to 2, 4 to 4, 5 to 8, 6 to 1, 7 to 1, 8 to 2, 9 to 4, 10 to 8, 11 to 4, 12 to 8, 13 to 4)

    private class Ifd(val tags: Map<Int, DoubleArray>, val next: Long)

    fun read(bytes: ByteArray): RawFrame {
        if (bytes.size < 8) throw DngException("not a DNG: file too small")
        val order = when (String(bytes, 0, 2, Charsets.US_ASCII)) {
            "II" -> ByteOrder.LITTLE_ENDIAN
            "MM" -> ByteOrder.BIG_ENDIAN
            else -> throw DngException("not a TIFF/DNG file")
        }
        val buf = ByteBuffer.wrap(bytes).order(order)
        if (buf.getShort(2).toInt() != 42) throw DngException("not a TIFF/DNG file (bad magic)")

        // IFD0 and its chain, each followed by its SubIFDs (DNG converters put the raw image there).
        val ifds = ArrayList<Map<Int, DoubleArray>>()
        val pending = ArrayList<Long>()
        var offset = u32(buf, 4)
        var guard = 0
        while (offset != 0L && guard++ < 16) {
            val ifd = readIfd(buf, offset)
            ifds.add(ifd.tags)
            ifd.tags[330]?.forEach { pending.add(it.toLong()) }
            offset = ifd.next
        }
        for (sub in pending.take(16)) ifds.add(readIfd(buf, sub).tags)
        val ifd0 = ifds.firstOrNull() ?: throw DngException("not a TIFF/DNG file (no image directory)")
        // A broken EXIF pointer costs only the exposure time, as in LibRaw.
        val exif = ifd0[34665]?.let { ptr -> try { readIfd(buf, (ptr.getOrNull(0) ?: 0.0).toLong()).tags } catch (e: DngException) { null } } ?: emptyMap()

        val raw = ifds.firstOrNull { it[262]?.getOrNull(0) == CFA.toDouble() }
            ?: throw DngException("no CFA image in this DNG (linear DNGs are not supported)")
        val fullWidth = required(raw, 256, "ImageWidth").toInt()
        val fullHeight = required(raw, 257, "ImageLength").toInt()
        val bits = (raw[258]?.getOrNull(0) ?: 1.0).toInt()
        val compression = (raw[259]?.getOrNull(0) ?: 1.0).toInt()
        if (compression != 1) throw DngException("only uncompressed DNGs are supported (Compression=$compression)")
        if (bits < 8 || bits > 16) throw DngException("only 8- to 16-bit CFA data is supported (BitsPerSample=$bits)")
        if ((raw[277]?.getOrNull(0) ?: 1.0) != 1.0) throw DngException("only one sample per pixel is supported in a CFA image")
        if (raw.containsKey(50712)) throw DngException("DNGs with a LinearizationTable are not supported")
        if (fullWidth <= 0 || fullHeight <= 0 || fullWidth.toLong() * fullHeight > MAX_PIXELS) {
            throw DngException("implausible image size ${fullWidth}x$fullHeight")
        }
        val dims = raw[33421] ?: doubleArrayOf(2.0, 2.0)
        val codes = raw[33422] ?: throw DngException("missing CFAPattern")
        val period = dims.getOrNull(0)?.toInt() ?: 0
        if (dims.size != 2 || dims[1].toInt() != period || (period != 2 && period != 6) || codes.size != period * period) {
            throw DngException("unsupported CFA: ${dims.joinToString("x") { it.toInt().toString() }} pattern (2x2 Bayer or 6x6 X-Trans only)")
        }
        val letters = StringBuilder()
        for (c in codes) {
            val code = c.toInt()
            if (code < 0 || code > 2) throw DngException("unsupported CFA colour code $code (R, G, B only)")
            letters.append("RGB"[code])
        }
        val full = decode(bytes, buf, raw, fullWidth, fullHeight, bits)

        // ActiveArea (top, left, bottom, right); LibRaw's conventions, see the class comment.
        val area = raw[50829]?.map { it.toInt() } ?: listOf(0, 0, fullHeight, fullWidth)
        if (area.size != 4 || area[0] < 0 || area[1] < 0) throw DngException("bad ActiveArea $area")
        val bottom = minOf(area[2], fullHeight)
        val right = minOf(area[3], fullWidth)
        val shiftY = if (period == 2) area[0] and 1 else 0
        val shiftX = if (period == 2) area[1] and 1 else 0
        val top = area[0] + shiftY
        val left = area[1] + shiftX
        val width = right - left
        val height = bottom - top
        if (width <= 0 || height <= 0) throw DngException("empty ActiveArea $area")
        val mosaic = ShortArray(width * height)
        for (y in 0 until height) System.arraycopy(full, (top + y) * fullWidth + left, mosaic, y * width, width)
        val pattern = roll(letters.toString(), period, shiftY, shiftX)

        val blackLevels = blackLevels(raw, period, shiftY, shiftX)
        val whiteLevel = raw[50717]?.getOrNull(0) ?: ((1 shl bits) - 1).toDouble()
        var maxBlack = 0.0
        for (b in blackLevels) {
            if (b.isNaN() || b.isInfinite() || b < 0) throw DngException("bad BlackLevel ${fmt(b)}")
            if (b > maxBlack) maxBlack = b
        }
        if (whiteLevel.isNaN() || whiteLevel.isInfinite()) throw DngException("bad WhiteLevel ${fmt(whiteLevel)}")
        if (whiteLevel <= maxBlack) throw DngException("white level ${fmt(whiteLevel)} not above black level ${fmt(maxBlack)}")
        // As LibRaw: ExposureTime, else the APEX ShutterSpeedValue 2^-v; kept as a float like LibRaw's
        // shutter, so ratios equal Python's.
        var exposure = (raw[33434] ?: ifd0[33434] ?: exif[33434])?.getOrNull(0) ?: 0.0
        val apex = (raw[37377] ?: ifd0[37377] ?: exif[37377])?.getOrNull(0)
        if (exposure <= 0 && apex != null && -apex < 128) exposure = Math.pow(2.0, -apex)
        exposure = exposure.toFloat().toDouble()
        return RawFrame(
            width, height, mosaic, pattern, blackLevels, whiteLevel,
            exposure.takeIf { it > 0 },
            (raw[50728] ?: ifd0[50728])?.takeIf { it.size == 3 },
            (raw[50721] ?: ifd0[50721])?.takeIf { it.size == 9 }
        )
    }

    /** The whole stored image (before the ActiveArea crop) from strips or tiles. */
    private fun decode(bytes: ByteArray, buf: ByteBuffer, raw: Map<Int, DoubleArray>, width: Int, height: Int, bits: Int): ShortArray {
        if ((width.toLong() * bits + 7) / 8 * height > bytes.size) throw DngException("truncated file (image data past the end)")
        val out = ShortArray(width * height)
        val tiled = raw.containsKey(324)
        val offsets = (if (tiled) raw[324] else raw[273]) ?: throw DngException("missing image data offsets")
        val counts = (if (tiled) raw[325] else raw[279]) ?: throw DngException("missing image data byte counts")
        if (counts.size != offsets.size) throw DngException("image data offsets and byte counts disagree")
        val blockWidth = if (tiled) required(raw, 322, "TileWidth").toInt() else width
        val blockHeight = if (tiled) required(raw, 323, "TileLength").toInt() else (raw[278]?.getOrNull(0)?.toInt() ?: height)
        if (blockWidth <= 0 || blockHeight <= 0 || blockWidth.toLong() * blockHeight > MAX_PIXELS) throw DngException("bad strip or tile size")
        val across = if (tiled) (width + blockWidth - 1) / blockWidth else 1
        val down = (height + blockHeight - 1) / blockHeight
        if (offsets.size < across * down) throw DngException("truncated file (${offsets.size} of ${across * down} image blocks)")
        val rowBytes = (blockWidth.toLong() * bits + 7) / 8
        for (block in 0 until across * down) {
            val y0 = (block / across) * blockHeight
            val x0 = (block % across) * blockWidth
            val rows = minOf(blockHeight, height - y0)
            val start = offsets[block].toLong()
            val available = counts[block].toLong()
            if (start + available > bytes.size) throw DngException("truncated file (image data past the end)")
            // A strip holds `rows` rows; a tile always holds full TileLength rows.
            if (rowBytes * rows > available) throw DngException("truncated image data")
            val cols = minOf(blockWidth, width - x0)
            for (y in 0 until rows) {
                val rowStart = start + y * rowBytes
                val dst = (y0 + y) * width + x0
                when (bits) {
                    16 -> for (x in 0 until cols) out[dst + x] = buf.getShort((rowStart + 2L * x).toInt())
                    8 -> for (x in 0 until cols) out[dst + x] = (bytes[(rowStart + x).toInt()].toInt() and 0xff).toShort()
                    else -> unpackBits(bytes, rowStart, bits, cols, out, dst)
                }
            }
        }
        return out
    }

    /** TIFF FillOrder 1: samples of `bits` bits packed MSB-first, each row starting on a byte. */
    private fun unpackBits(bytes: ByteArray, rowStart: Long, bits: Int, count: Int, out: ShortArray, dst: Int) {
        var bitPos = rowStart * 8
        val mask = (1 shl bits) - 1
        for (x in 0 until count) {
            val byte = (bitPos ushr 3).toInt()
            val shift = (bitPos and 7).toInt()
            // Up to 16 bits starting anywhere in a byte fit in 3 bytes.
            var window = 0
            for (k in 0 until 3) {
                val i = byte + k
                window = (window shl 8) or (if (i < bytes.size) bytes[i].toInt() and 0xff else 0)
            }
            out[dst + x] = ((window ushr (24 - shift - bits)) and mask).toShort()
            bitPos += bits
        }
    }

    /** Black level per site of one period (BlackLevel repeated by BlackLevelRepeatDim), rolled like the pattern. */
    private fun blackLevels(raw: Map<Int, DoubleArray>, period: Int, shiftY: Int, shiftX: Int): DoubleArray {
        val values = raw[50714] ?: doubleArrayOf(0.0)
        val repeat = raw[50713]?.map { it.toInt() } ?: listOf(1, 1)
        val ry = maxOf(1, repeat.getOrElse(0) { 1 })
        val rx = maxOf(1, repeat.getOrElse(1) { 1 })
        if (values.size < ry * rx) throw DngException("BlackLevel has ${values.size} values for a ${ry}x$rx repeat")
        return DoubleArray(period * period) { site ->
            val y = site / period + shiftY
            val x = site % period + shiftX
            values[(y % ry) * rx + (x % rx)]
        }
    }

    private fun roll(pattern: String, period: Int, dy: Int, dx: Int): String {
        val out = StringBuilder()
        for (y in 0 until period) for (x in 0 until period) out.append(pattern[((y + dy) % period) * period + (x + dx) % period])
        return out.toString()
    }

    private fun required(tags: Map<Int, DoubleArray>, tag: Int, name: String): Double =
        tags[tag]?.getOrNull(0) ?: throw DngException("missing $name in the CFA image")

    private fun readIfd(buf: ByteBuffer, offset: Long): Ifd {
        if (offset < 8 || offset + 2 > buf.limit()) throw DngException("truncated file (IFD past the end)")
        val at = offset.toInt()
        val n = buf.getShort(at).toInt() and 0xffff
        if (at + 2L + n * 12L + 4 > buf.limit()) throw DngException("truncated file (IFD past the end)")
        val tags = HashMap<Int, DoubleArray>()
        for (i in 0 until n) {
            val entry = at + 2 + i * 12
            val tag = buf.getShort(entry).toInt() and 0xffff
            val type = buf.getShort(entry + 2).toInt() and 0xffff
            val count = u32(buf, entry + 4)
            val size = typeSize[type] ?: continue
            val total = size * count
            val data = if (total <= 4) entry + 8L else u32(buf, entry + 8)
            if (data + total > buf.limit()) throw DngException("truncated file (tag data past the end)")
            if (type == 2 || count > 1 shl 20) continue // text, or an array no tag we read can be
            tags[tag] = DoubleArray(count.toInt()) { j -> value(buf, type, (data + j * size).toInt()) }
        }
        return Ifd(tags, u32(buf, at + 2 + n * 12))
    }

    private fun u32(buf: ByteBuffer, at: Int): Long = buf.getInt(at).toLong() and 0xffffffffL

    private fun value(buf: ByteBuffer, type: Int, at: Int): Double = when (type) {
        1, 7 -> (buf.get(at).toInt() and 0xff).toDouble()
        6 -> buf.get(at).toDouble()
        3 -> (buf.getShort(at).toInt() and 0xffff).toDouble()
        8 -> buf.getShort(at).toDouble()
        4, 13 -> u32(buf, at).toDouble()
        9 -> buf.getInt(at).toDouble()
        5 -> u32(buf, at).toDouble() / u32(buf, at + 4)
        10 -> buf.getInt(at).toDouble() / buf.getInt(at + 4)
        11 -> buf.getFloat(at).toDouble()
        else -> buf.getDouble(at)
    }

    private fun fmt(v: Double): String = if (!v.isInfinite() && v == Math.floor(v)) v.toLong().toString() else v.toString()
}
