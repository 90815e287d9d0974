@file:Suppress("UNUSED_PARAMETER", "unused")

package androidx.activity.result.contract

import android.net.Uri

open class ActivityResultContract<I, O>

object ActivityResultContracts {
    class OpenDocument : ActivityResultContract<Array<String>, Uri?>()
}
