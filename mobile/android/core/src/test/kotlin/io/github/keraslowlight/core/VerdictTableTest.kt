package io.github.keraslowlight.core

import org.json.JSONArray
import org.json.JSONObject
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File

/**
 * The shared fixture table (tests/reader_fixtures.py): every good and bad file through the Kotlin
 * reader and packer, verdicts written for Python to compare with its own and the web client's.
 */
class VerdictTableTest {
    @Test
    fun everyFixtureGetsAVerdict() {
        Fixtures.assumePresent()
        val contract = ModelContract.parse(File("../../MODEL_CONTRACT.json").readText())
        val table = Fixtures.manifest!!.getJSONArray("verdicts")
        val verdicts = JSONObject()
        for (i in 0 until table.length()) {
            val case = table.getJSONObject(i)
            val verdict = JSONObject()
            try {
                val frame = DngReader.read(File(case.getString("dng")).readBytes())
                val ratio = contract.ratio.ratioFor(frame, case.getString("file_name"))
                val packed = Packer.pack(frame, ratio, contract.ratio.maxRatio)
                verdict.put("ok", true).put("cfa", frame.cfaPattern).put("ratio", ratio)
                    .put("shape", JSONArray().put(packed.height).put(packed.width).put(packed.channels))
            } catch (e: DngException) {
                val message = e.message ?: ""
                assertTrue("${case.getString("name")}: one-line message, got '$message'", message.isNotEmpty() && !message.contains('\n'))
                verdict.put("ok", false).put("error", message)
            }
            verdicts.put(case.getString("name"), verdict)
            println("verdict ${case.getString("name")}: ${if (verdict.getBoolean("ok")) "ok" else "error: " + verdict.getString("error")}")
        }
        Fixtures.writeResult("verdicts.json", verdicts)
    }
}
