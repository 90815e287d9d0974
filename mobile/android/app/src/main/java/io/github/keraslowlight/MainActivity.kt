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
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlin.math.pow

/** Pick a DNG (or the bundled sample) → pack → tiles through LiteRT → before / after. */
class MainActivity : AppCompatActivity() {
    private lateinit var status: TextView
    private val contract by lazy { ModelContract.parse(assets.open("MODEL_CONTRACT.json").bufferedReader().readText()) }
    private val enhancer by lazy { Enhancer(this, contract) }

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
                    val ratio = Packer.ratio(frame, contract)
                    val packed = Packer.pack(frame, ratio, contract)
                    val start = SystemClock.elapsedRealtime()
                    val srgb = enhancer.enhance(packed)
                    val ms = SystemClock.elapsedRealtime() - start
                    val w = packed.width * contract.scale
                    val h = packed.height * contract.scale
                    withContext(Dispatchers.Main) {
                        findViewById<ImageView>(R.id.before).setImageBitmap(before(packed))
                        findViewById<ImageView>(R.id.after).setImageBitmap(toBitmap(srgb, w, h))
                    }
                    "$name: ${frame.width}×${frame.height} ${frame.cfaPattern}, ×${ratio.toInt()}, $ms ms on ${enhancer.accelerator}"
                }
            } catch (e: Exception) {
                "error: ${e.message}"
            }
            status.text = message
        }
    }

    private fun toBitmap(rgb: FloatArray, w: Int, h: Int): Bitmap {
        val pixels = IntArray(w * h) { p ->
            val r = (rgb[p * 3].coerceIn(0f, 1f) * 255).toInt()
            val g = (rgb[p * 3 + 1].coerceIn(0f, 1f) * 255).toInt()
            val b = (rgb[p * 3 + 2].coerceIn(0f, 1f) * 255).toInt()
            (0xff shl 24) or (r shl 16) or (g shl 8) or b
        }
        return Bitmap.createBitmap(pixels, w, h, Bitmap.Config.ARGB_8888)
    }

    /** Amplified input, greens averaged, gamma 2.2: the noise the model removes. */
    private fun before(p: Packed): Bitmap {
        val rgb = FloatArray(p.height * p.width * 3) { i ->
            val px = i / 3
            val d = p.data
            when (i % 3) {
                0 -> d[px * 4]
                1 -> (d[px * 4 + 1] + d[px * 4 + 3]) / 2
                else -> d[px * 4 + 2]
            }.toDouble().pow(1 / 2.2).toFloat()
        }
        return toBitmap(rgb, p.width, p.height)
    }

    override fun onDestroy() {
        super.onDestroy()
        enhancer.close()
    }
}
