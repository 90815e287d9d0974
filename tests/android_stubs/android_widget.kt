@file:Suppress("UNUSED_PARAMETER", "unused")

package android.widget

import android.graphics.Bitmap
import android.view.View

open class TextView : View() {
    var text: CharSequence = ""
}

class Button : TextView()

class ImageView : View() {
    fun setImageBitmap(bitmap: Bitmap): Unit = throw UnsupportedOperationException("stub")
}
