@file:Suppress("UNUSED_PARAMETER", "unused")

package androidx.activity.result

class ActivityResultLauncher<I> {
    fun launch(input: I): Unit = throw UnsupportedOperationException("stub")
}
