package io.github.keraslowlight.core

import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.util.Random

/**
 * Seeded mutations of valid DNGs (flipped header bytes, random bytes, cuts): the reader and packer
 * either accept the file or throw DngException with one line — never another exception, which the
 * app would show as a stack-trace message or not catch at all. The Python reader's counterpart
 * is tests/test_fuzz.py.
 */
class FuzzTest {
    private val bases: List<ByteArray> = listOf(
        TestDng(30, 24, "RGGB").bytes(),
        TestDng(37, 29, "GRBG", bits = 12, bigEndian = true, tile = 16).bytes(),
        TestDng(36, 36, PackingLayout.XTRANS_REFERENCE, bits = 14).bytes(),
        TestDng(32, 24, "BGGR", extra = listOf(
            Triple(50713, 3, longArrayOf(2, 2)),
            Triple(50714, 5, longArrayOf(500, 510, 520, 530)),
            Triple(33434, 5, longArrayOf(1)),
            Triple(50829, 4, longArrayOf(1, 2, 23, 30))
        )).bytes()
    )

    private fun mutate(random: Random, base: ByteArray): ByteArray {
        val bytes = base.copyOf()
        when (random.nextInt(4)) {
            0 -> return bytes.copyOf(random.nextInt(bytes.size))
            1 -> repeat(1 + random.nextInt(8)) { bytes[random.nextInt(minOf(bytes.size, 400))] = random.nextInt(256).toByte() }
            2 -> repeat(1 + random.nextInt(4)) { bytes[random.nextInt(minOf(bytes.size, 400))] = if (random.nextBoolean()) -1 else 0 }
            else -> repeat(1 + random.nextInt(16)) { bytes[random.nextInt(bytes.size)] = random.nextInt(256).toByte() }
        }
        return bytes
    }

    @Test
    fun corruptFilesGiveOneLineErrorsOnly() {
        // LOWLIGHT_FUZZ_CASES raises the count, as for the Python reader's fuzzer (tests/test_fuzz.py).
        val cases = System.getenv("LOWLIGHT_FUZZ_CASES")?.toIntOrNull() ?: 600
        val random = Random(17)
        var accepted = 0
        var rejected = 0
        for (case in 0 until cases) {
            val bytes = mutate(random, bases[case % bases.size])
            try {
                val frame = DngReader.read(bytes)
                Packer.pack(frame, 100.0, 300.0)
                accepted++
            } catch (e: DngException) {
                val message = e.message ?: ""
                assertTrue("case $case: one line, got '$message'", message.isNotEmpty() && !message.contains('\n'))
                rejected++
            } catch (e: Throwable) {
                fail("case $case: ${e.javaClass.name}: ${e.message} at ${e.stackTrace.filter { it.className.contains("keraslowlight") }.take(3).joinToString(" < ")}")
            }
        }
        println("fuzz: $cases corrupted DNGs, $accepted read, $rejected rejected with one line, no other exception")
        assertTrue(accepted > 0 && rejected > 0)
    }
}
