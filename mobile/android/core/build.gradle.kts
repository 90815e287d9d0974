// The app's logic without Android: DNG reader, packing, ratio rule, tiler, contract parser.
// Plain Kotlin/JVM so that its JUnit tests run anywhere (`./gradlew :core:test`, or the repository's
// `make test`, which compiles the same sources with kotlinc and checks them against Python).
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.kotlin.jvm)
}

java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    // org.json is part of Android itself: compile against it here, never package a second copy.
    compileOnly(libs.json)
    testImplementation(libs.json)
    testImplementation(libs.junit)
}
