"""Local AI: the ONNX beat classifier (features, model loading, ``classify_beats``)."""
