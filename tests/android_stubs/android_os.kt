@file:Suppress("UNUSED_PARAMETER", "unused")

package android.os

class Bundle

object SystemClock {
    fun elapsedRealtime(): Long = throw UnsupportedOperationException("stub")
}
