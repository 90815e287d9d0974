@file:Suppress("UNUSED_PARAMETER", "unused")

package androidx.lifecycle

import kotlinx.coroutines.CoroutineScope

interface LifecycleOwner

val LifecycleOwner.lifecycleScope: CoroutineScope get() = throw UnsupportedOperationException("stub")
