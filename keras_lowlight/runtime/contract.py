"""The model contract: what a phone (web or Android) must do around a shipped `.tflite`.

`mobile/MODEL_CONTRACT.json` is read by the LiteRT.js client and the Android sample instead of
hard-coded settings. Its `preprocessing` block restates, for implementers in other languages,
what `keras_lowlight.runtime.raw` / `packing` / `enhance` do; its `models` entries describe each shipped
file and are checked against the file itself (`check_model`), so the two cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from keras_lowlight.runtime.conventions import (
    CFA_FOR_CHANNELS,
    INPUT_NAME,
    MAX_RATIO,
    OUTPUT_NAMES,
    PHONE_TILE,
    RAW_OUTPUT_NAME,
    SIGNATURE_KEY,
)
from keras_lowlight.runtime.enhance import DEFAULT_TARGET_EXPOSURE
from keras_lowlight.runtime.exposure import CONTRACT_RULE

REPO = Path(__file__).resolve().parents[2]  # the checkout: keras_lowlight/<layer>/this file
CONTRACT_PATH = REPO / "mobile" / "MODEL_CONTRACT.json"
TILE = PHONE_TILE

PREPROCESSING = {
    "bayer_channel_order": ["R", "G1", "B", "G2"],
    "bayer_channels": "packed pixel (y, x) takes the 2x2 CFA cell at mosaic rows 2y..2y+1, columns "
                      "2x..2x+1 (odd sizes cropped); R and B from their sites, G1 = the green on R's row, "
                      "G2 = the green on B's row, whatever the sensor order (RGGB, BGGR, GRBG, GBRG)",
    "xtrans_channels": "9 channels at 1/3 resolution exactly as SID's train_Fuji.py pack_raw "
                       "(keras_lowlight/runtime/packing.py)",
    "normalisation": "(x - black[site]) / (white - black[site]), clipped to [0, 1]; black per CFA site "
                     "and white level read from the file",
    "ratio": {"default_target_exposure_s": DEFAULT_TARGET_EXPOSURE,
              "rule": "a SID file name SSSSS_BB_Es.EXT: default_target_exposure_s / E, at least 1; "
                      "otherwise `auto` (an exposure time from the file's tags alone does not decide)",
              "default": "auto", "max": MAX_RATIO,
              "auto": CONTRACT_RULE},
    "amplified": "normalised × min(ratio, max), clipped to [0, 1]",
    "output": "clip to [0, 1]; for a model with head `srgb`: sRGB (BT.709 curve, as LibRaw's postprocess), "
              "H×scale by W×scale; for head `raw`: the clean packed RAW, then render it (the entry's `render`)",
    "tiling": "mirror-pad (numpy 'symmetric') by the overlap, fixed-size tiles whose origins are "
              "multiples of `multiple`, keep each tile's core (keras_lowlight/runtime/engine.py enhance_frame)",
}


def describe_model_io(tflite_path: str | Path) -> dict:
    """Signature, names, dtypes, shapes, quantization and scale, read from the `.tflite` itself."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_path))
    signatures = interpreter.get_signature_list()
    runner = interpreter.get_signature_runner(SIGNATURE_KEY) if SIGNATURE_KEY in signatures else None
    if runner is None:
        return {"signatures": sorted(signatures)}
    inputs, outputs = runner.get_input_details(), runner.get_output_details()
    output_name = next((name for name in OUTPUT_NAMES if name in outputs), OUTPUT_NAMES[0])
    x, y = inputs[INPUT_NAME], outputs[output_name]
    channels = int(x["shape_signature"][-1])
    tensor_types = {d["dtype"].__name__ for d in interpreter.get_tensor_details()}
    quantization = "int8" if "int8" in tensor_types else "float16" if "float16" in tensor_types else "float32"
    # Scale: run one tile through a fresh interpreter (the static size, or a small dynamic one).
    static = int(x["shape_signature"][1])
    size = static if static > 0 else TILE["multiple"]
    probe = Interpreter(model_path=str(tflite_path))
    probe.resize_tensor_input(x["index"], [1, size, size, channels], strict=False)
    probe.allocate_tensors()
    probe.set_tensor(x["index"], np.zeros((1, size, size, channels), np.float32))
    probe.invoke()
    out_shape = probe.get_tensor(y["index"]).shape
    return {
        "signature": SIGNATURE_KEY,
        "input": {"name": INPUT_NAME, "layout": "NHWC", "dtype": x["dtype"].__name__, "channels": channels,
                  "shape": [int(v) for v in x["shape_signature"]]},
        "output": {"name": output_name, "dtype": y["dtype"].__name__, "channels": int(out_shape[-1]),
                   "range": [0.0, 1.0], "clip": True},
        "head": "raw" if output_name == RAW_OUTPUT_NAME else "srgb",
        "scale": int(out_shape[1] // size),
        "quantization": quantization,
    }


# What a client does with the model's output, per head (the entry's `render`).
RENDER = {
    "srgb": {"after_model": "nothing: the output is the sRGB image (clip to [0, 1])"},
    "raw": {
        "after_model": "the output is the clean packed RAW at the target exposure, same packing and [0, 1] "
                       "scale as the input: render it with the file's own colour",
        "steps": [
            "clip to [0, 1]; unpack to the mosaic (inverse of the packing)",
            "demosaic (Bayer: Malvar-He-Cutler 5x5; X-Trans: normalised-convolution bilinear)",
            "multiply by the file's white balance (as-shot, R G B) scaled so its smallest multiplier is 1; "
            "clip to [0, 1]",
            "camera -> linear sRGB: inverse of (xyz_to_cam · sRGB->XYZ with rows normalised to sum 1), "
            "xyz_to_cam from the file's ColorMatrix",
            "BT.709 curve (gamma 0.45, toe slope 4.5), as LibRaw's postprocess",
        ],
        "reference": "keras_lowlight/runtime/isp.py render_packed",
    },
}


def entry_for(tflite_path: str | Path) -> dict:
    """A contract entry for a shipped file (path relative to the repository root)."""
    info = describe_model_io(tflite_path)
    cfa = CFA_FOR_CHANNELS.get(info["input"]["channels"], "unknown")
    static = info["input"]["shape"][1]
    tile = {**TILE, "size": static, "fixed": True} if static > 0 else {**TILE, "fixed": False}
    return {"file": Path(tflite_path).resolve().relative_to(REPO).as_posix(), "cfa": cfa, **info, "tile": tile,
            "render": RENDER[info["head"]]}


def load_contract(path: Path = CONTRACT_PATH) -> dict:
    return json.loads(Path(path).read_text())


def write_contract(tflite_paths: list[Path], path: Path = CONTRACT_PATH) -> dict:
    contract = {
        "format": "keras-lowlight model contract, version 1",
        "preprocessing": PREPROCESSING,
        "models": [entry_for(p) for p in sorted(tflite_paths)],
    }
    Path(path).write_text(json.dumps(contract, indent=2) + "\n")
    return contract


def check_model(entry: dict, tflite_path: str | Path) -> list[str]:
    """Mismatches between a contract entry and the file it describes (empty when they agree)."""
    actual = describe_model_io(tflite_path)
    problems = []
    for key in ("signature", "input", "output", "scale", "quantization", "head"):
        if entry.get(key) != actual.get(key):
            problems.append(f"{key}: contract says {entry.get(key)!r}, file has {actual.get(key)!r}")
    tile = entry.get("tile", {})
    if tile.get("multiple", 0) % 2 or tile.get("size", 0) <= 2 * tile.get("overlap", 0):
        problems.append(f"tile advice {tile} is unusable")
    return problems
