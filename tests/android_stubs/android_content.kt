@file:Suppress("UNUSED_PARAMETER", "unused")

package android.content

import android.content.res.AssetManager
import android.net.Uri

open class Context {
    val assets: AssetManager get() = throw UnsupportedOperationException("stub")
    val contentResolver: ContentResolver get() = throw UnsupportedOperationException("stub")
}

class ContentResolver {
    fun openInputStream(uri: Uri): java.io.InputStream? = throw UnsupportedOperationException("stub")
}
