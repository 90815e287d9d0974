@file:Suppress("UNUSED_PARAMETER", "unused")

package android.net

class Uri {
    val lastPathSegment: String? get() = throw UnsupportedOperationException("stub")
}
