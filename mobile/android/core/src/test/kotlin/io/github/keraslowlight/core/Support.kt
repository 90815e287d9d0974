package io.github.keraslowlight.core

import org.json.JSONArray
import org.json.JSONObject
import org.junit.Assume
import java.io.ByteArrayOutputStream
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * Goldens written by Python (tests/test_android_core.py): DNG fixtures, packed arrays and tiled
 * outputs from keras_lowlight, and the fixture table shared with the web client. Under Gradle
 * (no LOWLIGHT_FIXTURES) the golden tests are skipped; the project's runner refuses any skip.
 */
object Fixtures {
    val dir: File? = (System.getProperty("lowlight.fixtures") ?: System.getenv("LOWLIGHT_FIXTURES"))?.let { File(it) }
    val manifest: JSONObject? by lazy { dir?.let { JSONObject(File(it, "manifest.json").readText()) } }

    /** Parameterized cases (name, case) of one manifest list; one placeholder when there are none. */
    fun cases(key: String): Collection<Array<Any>> {
        val list = manifest?.optJSONArray(key) ?: return listOf(arrayOf<Any>("no fixtures", JSONObject()))
        val out = ArrayList<Array<Any>>()
        for (i in 0 until list.length()) {
            val case = list.getJSONObject(i)
            out.add(arrayOf<Any>(case.getString("name"), case))
        }
        return out
    }

    /** Skips unless Python wrote the goldens (and, for a parameterized `case`, that list). */
    fun assumePresent(case: JSONObject? = null) {
        Assume.assumeTrue("golden fixtures come from tests/test_android_core.py (LOWLIGHT_FIXTURES)", manifest != null)
        if (case != null) Assume.assumeTrue("the manifest has no cases of this kind", case.length() > 0)
    }

    fun file(name: String): File = File(dir, name)

    /** A little-endian float32 file written by numpy's `tofile`. */
    fun floats(name: String): FloatArray {
        val bytes = file(name).readBytes()
        val out = FloatArray(bytes.size / 4)
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out)
        return out
    }

    /** Results for Python to compare (verdicts), one JSON file per test. */
    fun writeResult(name: String, json: Any) {
        val out = File(dir, "kotlin_results")
        out.mkdirs()
        File(out, name).writeText(json.toString())
    }

    fun maxAbsDiff(a: FloatArray, b: FloatArray): Double {
        require(a.size == b.size) { "sizes differ: ${a.size} vs ${b.size}" }
        var worst = 0.0
        for (i in a.indices) {
            val d = Math.abs(a[i].toDouble() - b[i].toDouble())
            if (d > worst || d.isNaN()) worst = d
        }
        return worst
    }

    fun intArray(json: JSONArray): IntArray = IntArray(json.length()) { json.getInt(it) }
}

/**
 * A deterministic stand-in for the network that Python computes identically (float32, same order):
 * v = (t + 0.5·t[y−1]) − 0.25·t[x−1] (zeros outside the tile, as a convolution's padding), then
 * output (s·y + dy, s·x + dx, k) = v[y, x, (dy·s + dx + k) mod C] — a depth_to_space with a 3×3-ish
 * receptive field, so the tiler's overlap, mirror padding and core placement all show. With scale 1
 * and C output channels it stands in for a RAW-head model (output = the packed RAW).
 */
class StandInModel(
    override val channels: Int,
    override val scale: Int,
    override val outputChannels: Int = 3
) : TileModel {
    var calls = 0

    override fun run(tile: FloatArray, height: Int, width: Int): FloatArray {
        calls++
        val c = channels
        val v = FloatArray(tile.size)
        for (y in 0 until height) for (x in 0 until width) for (ch in 0 until c) {
            val i = (y * width + x) * c + ch
            val up = if (y > 0) tile[i - width * c] else 0f
            val left = if (x > 0) tile[i - c] else 0f
            v[i] = (tile[i] + 0.5f * up) - 0.25f * left
        }
        val s = scale
        val k = outputChannels
        val out = FloatArray(height * s * width * s * k)
        for (yy in 0 until height * s) for (xx in 0 until width * s) for (j in 0 until k) {
            val ch = ((yy % s) * s + xx % s + j) % c
            out[(yy * width * s + xx) * k + j] = v[((yy / s) * width + xx / s) * c + ch]
        }
        return out
    }
}

/** Writes small TIFF/DNG files for reader tests that need no Python (Gradle runs them too). */
class TestDng(
    val width: Int,
    val height: Int,
    val pattern: String = "RGGB",
    val bits: Int = 16,
    val bigEndian: Boolean = false,
    val tile: Int = 0,
    val photometric: Int = 32803,
    val compression: Int = 1,
    val extra: List<Triple<Int, Int, LongArray>> = emptyList()
) {
    val mosaic = IntArray(width * height) { (it * 7919 + 13) % (1 shl bits) }

    fun bytes(): ByteArray {
        val order = if (bigEndian) ByteOrder.BIG_ENDIAN else ByteOrder.LITTLE_ENDIAN
        val image = ByteArrayOutputStream()
        val blocks = ArrayList<ByteArray>()
        val bw = if (tile > 0) tile else width
        val bh = if (tile > 0) tile else height
        val across = (width + bw - 1) / bw
        val down = (height + bh - 1) / bh
        for (b in 0 until across * down) {
            val block = ByteArrayOutputStream()
            for (y in 0 until bh) blockRow(block, (b / across) * bh + y, (b % across) * bw, bw, order)
            blocks.add(block.toByteArray())
        }
        val period = Math.round(Math.sqrt(pattern.length.toDouble())).toInt()
        val entries = ArrayList<Triple<Int, Int, LongArray>>()
        entries.add(Triple(256, 4, longArrayOf(width.toLong())))
        entries.add(Triple(257, 4, longArrayOf(height.toLong())))
        entries.add(Triple(258, 3, longArrayOf(bits.toLong())))
        entries.add(Triple(259, 3, longArrayOf(compression.toLong())))
        entries.add(Triple(262, 3, longArrayOf(photometric.toLong())))
        entries.add(Triple(277, 3, longArrayOf(1)))
        entries.add(Triple(33421, 3, longArrayOf(period.toLong(), period.toLong())))
        entries.add(Triple(33422, 1, LongArray(pattern.length) { "RGB".indexOf(pattern[it]).toLong() }))
        entries.add(Triple(50706, 1, longArrayOf(1, 4, 0, 0)))
        entries.add(Triple(50717, 4, longArrayOf(((1 shl bits) - 1).toLong())))
        entries.addAll(extra)
        // Offsets are patched in once the layout is known.
        val offsetsTag = if (tile > 0) 324 else 273
        val countsTag = if (tile > 0) 325 else 279
        if (tile > 0) {
            entries.add(Triple(322, 3, longArrayOf(tile.toLong())))
            entries.add(Triple(323, 3, longArrayOf(tile.toLong())))
        } else {
            entries.add(Triple(278, 4, longArrayOf(height.toLong())))
        }
        entries.add(Triple(countsTag, 4, LongArray(blocks.size) { blocks[it].size.toLong() }))
        entries.add(Triple(offsetsTag, 4, LongArray(blocks.size)))
        entries.sortBy { it.first }
        val ifdSize = 2 + entries.size * 12 + 4
        val dataAt = 8 + ifdSize
        val extraData = ByteArrayOutputStream()
        val valueOffsets = HashMap<Int, Int>()
        for (e in entries) {
            val size = typeSize(e.second) * e.third.size
            if (size > 4) {
                valueOffsets[e.first] = dataAt + extraData.size()
                extraData.write(ByteArray(size))
                if (extraData.size() % 2 == 1) extraData.write(0)
            }
        }
        var imageAt = dataAt + extraData.size()
        val offsets = entries.first { it.first == offsetsTag }.third
        for (b in blocks.indices) {
            offsets[b] = imageAt.toLong()
            image.write(blocks[b])
            imageAt += blocks[b].size
        }
        val out = ByteBuffer.allocate(imageAt).order(order)
        out.put(if (bigEndian) "MM".toByteArray() else "II".toByteArray())
        out.putShort(2, 42)
        out.putInt(4, 8)
        out.putShort(8, entries.size.toShort())
        for ((i, e) in entries.withIndex()) {
            val at = 10 + i * 12
            out.putShort(at, e.first.toShort())
            out.putShort(at + 2, e.second.toShort())
            out.putInt(at + 4, e.third.size)
            val size = typeSize(e.second) * e.third.size
            val target = if (size > 4) valueOffsets.getValue(e.first) else at + 8
            if (size > 4) out.putInt(at + 8, target)
            for ((j, v) in e.third.withIndex()) {
                when (e.second) {
                    1 -> out.put(target + j, v.toByte())
                    3 -> out.putShort(target + j * 2, v.toShort())
                    4 -> out.putInt(target + j * 4, v.toInt())
                    5 -> { out.putInt(target + j * 8, v.toInt()); out.putInt(target + j * 8 + 4, 1) }
                }
            }
        }
        out.putInt(10 + entries.size * 12, 0)
        out.position(8 + ifdSize + extraData.size())
        out.put(image.toByteArray())
        return out.array()
    }

    private fun blockRow(block: ByteArrayOutputStream, y: Int, x0: Int, count: Int, order: ByteOrder) {
        val value = { x: Int -> if (y < height && x0 + x < width) mosaic[y * width + x0 + x] else 0 }
        when (bits) {
            16 -> for (x in 0 until count) {
                val v = value(x)
                if (order == ByteOrder.BIG_ENDIAN) { block.write(v shr 8); block.write(v and 0xff) } else { block.write(v and 0xff); block.write(v shr 8) }
            }
            8 -> for (x in 0 until count) block.write(value(x))
            else -> {
                var acc = 0L
                var n = 0
                for (x in 0 until count) {
                    acc = (acc shl bits) or value(x).toLong()
                    n += bits
                    while (n >= 8) { block.write(((acc shr (n - 8)) and 0xff).toInt()); n -= 8 }
                }
                if (n > 0) block.write(((acc shl (8 - n)) and 0xff).toInt())
            }
        }
    }

    private fun typeSize(type: Int): Int = when (type) { 1 -> 1; 3 -> 2; 4 -> 4; else -> 8 }
}
