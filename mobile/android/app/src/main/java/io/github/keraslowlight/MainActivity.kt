package io.github.keraslowlight

import android.graphics.Bitmap
import android.net.Uri
import android.os.Bundle
import android.os.SystemClock
import android.widget.Button
import android.widget.ImageView
import android.widget.TextView
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.lifecycleScope
import io.github.keraslowlight.core.ContractException
import io.github.keraslowlight.core.DngReader
import io.github.keraslowlight.core.ModelContract
import io.github.keraslowlight.core.Packed
import io.github.keraslowlight.core.Packer
import io.github.keraslowlight.core.PackingLayout
import io.github.keraslowlight.core.Preview
import io.github.keraslowlight.core.Render
import io.github.keraslowlight.core.Tiler
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Pick a DNG (or the bundled sample) → core: read, pack, tile → LiteRT → before / after. */
class MainActivity : AppCompatActivity() {
    private lateinit var status: TextView
    private val contract by lazy { ModelContract.parse(assets.open("MODEL_CONTRACT.json").bufferedReader().readText()) }
    /** An sRGB-head model when the contract ships one, else a RAW-head model whose output is rendered here. */
    private val entry by lazy {
        try {
            contract.select("bayer")
        } catch (e: ContractException) {
            contract.select("bayer", head = "raw")
        }
    }
    private val modelLoader = lazy { LiteRtTileModel(this, entry) }
    private val model by modelLoader

    private val pick = registerForActivityResult(ActivityResultContracts.OpenDocument()) { uri: Uri? ->
        uri?.let { run(contentResolver.openInputStream(it)!!.use { s -> s.readBytes() }, it.lastPathSegment ?: "dng") }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        status = findViewById(R.id.status)
        findViewById<Button>(R.id.pick).setOnClickListener { pick.launch(arrayOf("image/x-adobe-dng", "*/*")) }
        findViewById<Button>(R.id.sample).setOnClickListener { run(assets.open("sample.dng").readBytes(), "sample.dng") }
    }

    private fun run(bytes: ByteArray, name: String) {
        status.text = "enhancing $name…"
        lifecycleScope.launch {
            val message = try {
                withContext(Dispatchers.Default) {
                    val frame = DngReader.read(bytes)
                    val ratio = contract.ratio.ratioFor(frame, name)
                    val packed = Packer.pack(frame, ratio, contract.ratio.maxRatio)
                    if (packed.channels != entry.channels) error("this app ships a ${entry.cfa} model; the file is ${frame.cfaPattern}")
                    val start = SystemClock.elapsedRealtime()
                    val tile = entry.tile
                    val output = Tiler.enhance(model, packed, tile.size, tile.overlap, tile.multiple, !tile.fixed) { done, total ->
                        lifecycleScope.launch(Dispatchers.Main) { status.text = "tile $done/$total…" }
                    }
                    val srgb = if (entry.head == "raw") {
                        val clean = Packed(output, packed.height, packed.width, packed.channels)
                        Render.packed(clean, frame.cfaPattern, Render.whiteBalance(frame), frame.colorMatrix)
                    } else {
                        output
                    }
                    val ms = SystemClock.elapsedRealtime() - start
                    val scale = PackingLayout.forPattern(frame.cfaPattern).scale
                    val w = packed.width * scale
                    val h = packed.height * scale
                    val before = bitmap(Preview.toArgb(Preview.before(packed, frame.asShotNeutral), packed.width, packed.height), packed.width, packed.height)
                    val after = bitmap(Preview.toArgb(srgb, w, h), w, h)
                    withContext(Dispatchers.Main) {
                        findViewById<ImageView>(R.id.before).setImageBitmap(before)
                        findViewById<ImageView>(R.id.after).setImageBitmap(after)
                    }
                    "$name: ${frame.width}×${frame.height} ${frame.cfaPattern}, ×${ratio.toInt()}, $ms ms on ${model.accelerator}"
                }
            } catch (e: Exception) {
                "error: ${e.message}"
            }
            status.text = message
        }
    }

    private fun bitmap(argb: IntArray, w: Int, h: Int): Bitmap = Bitmap.createBitmap(argb, w, h, Bitmap.Config.ARGB_8888)

    override fun onDestroy() {
        super.onDestroy()
        if (modelLoader.isInitialized()) model.close()
    }
}
