"""The speech-to-gesture token generator (issue #13): a masked transformer over the parts'
token streams with cross-attention between the parts, conditioned on speech features.

    from motion_tokens.core.generate import load_generator, Generator, Pin
    gen = load_generator("gen-kmeans-10")
    tokens = gen.generate(features, seed=0, temperature=1.0, top_k=0, pins=())

model.py is the torch network (training), onnx_export.py its export to the bundle's
network.onnx, onnx_network.py that network on onnxruntime (inference, where onnxruntime imports),
numpy_model.py the same network in numpy (inference elsewhere, and the tests' reference), sampling.py the seeded sampling and masked decoding, windows.py the long-input
windows, inference.py the Generator, bundle.py the bundle format, training.py the training.
Importing this package does not import torch.
"""

from .inference import BATCH_WINDOWS, Generator, Pin, load_generator

__all__ = ["BATCH_WINDOWS", "Generator", "Pin", "load_generator"]
