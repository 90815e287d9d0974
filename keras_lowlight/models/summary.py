"""The preset table printed by `lowlight models` (parameters and MACs measured, not stored)."""

from __future__ import annotations

from collections.abc import Iterable


def preset_rows(names: Iterable[str] | None = None, cfas: Iterable[str] = ("bayer", "xtrans")) -> list[dict]:
    """One row per (preset, CFA): parameters and MACs per output megapixel, counted on the
    built model. Builds every model once (a few seconds for the whole family)."""
    import keras

    from keras_lowlight.models import input_multiple
    from keras_lowlight.models.macs import macs_per_output_megapixel
    from keras_lowlight.models.presets import PRESETS, cfa_io, get

    rows = []
    for name in names or PRESETS:
        for cfa in cfas:
            model = get(name, cfa=cfa)
            in_channels, scale = cfa_io(cfa)
            rows.append({
                "preset": name,
                "cfa": cfa,
                "in_channels": in_channels,
                "out_channels": int(model.outputs[0].shape[-1]),
                "scale": scale,
                "params": model.count_params(),
                "gmacs_per_output_mp": macs_per_output_megapixel(model) / 1e9,
                "input_multiple": input_multiple(model),
                "description": PRESETS[name].description,
            })
            del model
            keras.backend.clear_session()
    return rows


def format_table(rows: list[dict]) -> str:
    header = f"{'preset':<18} {'cfa':<7} {'in→out ch':>9} {'scale':>5} {'params':>11} {'GMAC/out MP':>11} {'multiple':>8}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['preset']:<18} {r['cfa']:<7} {str(r['in_channels']) + '→' + str(r['out_channels']):>9} "
            f"{'×' + str(r['scale']):>5} {r['params']:>11,} {r['gmacs_per_output_mp']:>11.2f} {r['input_multiple']:>8}"
        )
    return "\n".join(lines)
