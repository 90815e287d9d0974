@file:Suppress("UNUSED_PARAMETER", "unused")

package android.graphics

class Bitmap {
    enum class Config { ARGB_8888 }

    companion object {
        fun createBitmap(colors: IntArray, width: Int, height: Int, config: Config): Bitmap = throw UnsupportedOperationException("stub")
    }
}
