"""Reports built from the other layers: the model card and `lowlight package` (`model_card`), the
end-to-end demo (`demo`) and the quantization report (`quantize_report`)."""
