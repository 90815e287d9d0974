// Signatures of LiteRT 2.3's Kotlin API (com.google.ai.edge:litert), bodies omitted.
@file:Suppress("UNUSED_PARAMETER", "unused")

package com.google.ai.edge.litert

import android.content.res.AssetManager

enum class Accelerator { NONE, CPU, GPU, NPU }

class LiteRtException(message: String) : Exception(message)

class Environment private constructor() : AutoCloseable {
    override fun close(): Unit = throw UnsupportedOperationException("stub")

    companion object {
        fun create(options: Map<String, String> = mapOf()): Environment = throw UnsupportedOperationException("stub")
    }
}

class TensorBuffer private constructor() : AutoCloseable {
    fun writeFloat(data: FloatArray): Unit = throw UnsupportedOperationException("stub")
    fun readFloat(): FloatArray = throw UnsupportedOperationException("stub")
    override fun close(): Unit = throw UnsupportedOperationException("stub")
}

class CompiledModel private constructor() : AutoCloseable {
    class Options(vararg val accelerators: Accelerator)

    fun createInputBuffers(signature: String): List<TensorBuffer> = throw UnsupportedOperationException("stub")
    fun createOutputBuffers(signature: String): List<TensorBuffer> = throw UnsupportedOperationException("stub")
    fun run(inputs: List<TensorBuffer>, outputs: List<TensorBuffer>, signature: String): Unit = throw UnsupportedOperationException("stub")
    override fun close(): Unit = throw UnsupportedOperationException("stub")

    companion object {
        fun create(assetManager: AssetManager, assetName: String, options: Options, optionalEnv: Environment? = null): CompiledModel =
            throw UnsupportedOperationException("stub")
    }
}
