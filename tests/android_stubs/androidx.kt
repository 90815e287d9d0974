@file:Suppress("UNUSED_PARAMETER", "unused")

package androidx.appcompat.app

import android.content.Context
import android.os.Bundle
import android.view.View
import androidx.activity.result.ActivityResultLauncher
import androidx.activity.result.contract.ActivityResultContract
import androidx.lifecycle.LifecycleOwner

open class AppCompatActivity : Context(), LifecycleOwner {
    open fun onCreate(savedInstanceState: Bundle?) {}
    open fun onDestroy() {}
    fun setContentView(layout: Int): Unit = throw UnsupportedOperationException("stub")
    fun <T : View> findViewById(id: Int): T = throw UnsupportedOperationException("stub")
    fun <I, O> registerForActivityResult(contract: ActivityResultContract<I, O>, callback: (O) -> Unit): ActivityResultLauncher<I> =
        throw UnsupportedOperationException("stub")
}
