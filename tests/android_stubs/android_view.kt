@file:Suppress("UNUSED_PARAMETER", "unused")

package android.view

open class View {
    fun setOnClickListener(listener: (View) -> Unit): Unit = throw UnsupportedOperationException("stub")
}
