package io.github.keraslowlight.core

import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import kotlin.system.exitProcess

/**
 * The runner tests/test_android_core.py calls (`java ... AllTests`): JUnit 4 over every test class,
 * one summary line, and with LOWLIGHT_STRICT=1 a skipped test counts as a failure — so a missing
 * golden can never pass silently.
 */
object AllTests {
    val classes: Array<Class<*>> = arrayOf(
        DngReaderTest::class.java,
        PackingTest::class.java,
        FuzzTest::class.java,
        TilerTest::class.java,
        ContractTest::class.java,
        PackingGoldenTest::class.java,
        TilingGoldenTest::class.java,
        RenderGoldenTest::class.java,
        AutoRatioGoldenTest::class.java,
        ContractGoldenTest::class.java,
        VerdictTableTest::class.java
    )

    @JvmStatic
    fun main(args: Array<String>) {
        val skipped = ArrayList<String>()
        val core = JUnitCore()
        core.addListener(object : RunListener() {
            override fun testAssumptionFailure(failure: Failure) {
                skipped.add("${failure.description.displayName}: ${failure.message}")
            }

            override fun testFailure(failure: Failure) {
                println("FAILED ${failure.description.displayName}: ${failure.message}")
                println(failure.trace.lines().take(12).joinToString("\n"))
            }
        })
        val result = core.run(*classes)
        for (s in skipped) println("SKIPPED $s")
        val passed = result.runCount - result.failureCount - skipped.size
        println("kotlin tests: ${result.runCount} run, $passed passed, ${result.failureCount} failed, ${skipped.size} skipped (${result.runTime} ms)")
        val strict = System.getenv("LOWLIGHT_STRICT") == "1"
        exitProcess(if (result.wasSuccessful() && !(strict && skipped.isNotEmpty())) 0 else 1)
    }
}
