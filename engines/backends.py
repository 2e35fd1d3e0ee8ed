"""Registers the compiled backends in predictor.BACKENDS. Imports are lazy: picking `torch` never loads
onnxruntime or TensorRT, and a missing package becomes a reason in the auto-selection log."""
from .predictor import BACKENDS


def _tensorrt(config):
    from .trt_backend import TrtPredictor
    return TrtPredictor(config)


def _torch_cuda(config):
    from .cuda_backend import TorchCudaPredictor
    return TorchCudaPredictor(config)


def _onnxruntime(config):
    from .ort_backend import OrtPredictor
    return OrtPredictor(config)


BACKENDS.update({"tensorrt": _tensorrt, "torch-cuda": _torch_cuda, "onnxruntime": _onnxruntime})
