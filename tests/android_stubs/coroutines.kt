@file:Suppress("UNUSED_PARAMETER", "unused")

package kotlinx.coroutines

import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.EmptyCoroutineContext

interface CoroutineScope

interface Job

object Dispatchers {
    val Default: CoroutineContext get() = EmptyCoroutineContext
    val Main: CoroutineContext get() = EmptyCoroutineContext
}

fun CoroutineScope.launch(context: CoroutineContext = EmptyCoroutineContext, block: suspend CoroutineScope.() -> Unit): Job =
    throw UnsupportedOperationException("stub")

suspend fun <T> withContext(context: CoroutineContext, block: suspend CoroutineScope.() -> T): T = throw UnsupportedOperationException("stub")
