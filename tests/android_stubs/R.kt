// What the Android build generates from app/src/main/res (layout/activity_main.xml).
@file:Suppress("UNUSED_PARAMETER", "unused")

package io.github.keraslowlight

object R {
    object layout {
        const val activity_main = 1
    }

    object id {
        const val status = 2
        const val pick = 3
        const val sample = 4
        const val before = 5
        const val after = 6
    }
}
