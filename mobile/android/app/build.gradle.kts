plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "io.github.keraslowlight"
    compileSdk = 35
    defaultConfig {
        applicationId = "io.github.keraslowlight"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    // .tflite files must stay uncompressed so LiteRT can map them from the APK.
    androidResources { noCompress += "tflite" }
    sourceSets["main"].assets.srcDir(layout.buildDirectory.dir("generated/lowlightAssets"))
}

// Copies the model contract, the fixed-shape int8 model and the bundled sample DNG from the
// repository into the APK's assets: the app reads its settings from the contract, never hard-codes them.
val copyLowlightAssets by tasks.registering(Copy::class) {
    val repo = rootDir.resolve("../..")
    from(repo.resolve("mobile/MODEL_CONTRACT.json"))
    from(repo.resolve("saved_models/mobile_bayer/model_int8_tile256.tflite"))
    from(repo.resolve("mobile/web/sample.dng"))
    into(layout.buildDirectory.dir("generated/lowlightAssets"))
}
tasks.named("preBuild") { dependsOn(copyLowlightAssets) }

dependencies {
    implementation(project(":core"))
    implementation(libs.litert)
    implementation(libs.litert.gpu)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.appcompat)
    implementation(libs.androidx.lifecycle.runtime.ktx)
    implementation(libs.kotlinx.coroutines.android)
}
