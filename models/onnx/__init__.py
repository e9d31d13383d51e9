"""ONNX export with live MC dropout, and the metadata an ONNX file carries for vqseg.

``export_onnx`` writes one file that serves every inference mode: the graph takes an ``image`` batch and
a boolean ``mc`` and returns class probabilities; with ``mc`` true each dropout layer draws a fresh mask
(``RandomUniformLike``) per call, with ``mc`` false the layers pass values through.
"""

from models.onnx.export import ExportResult, export_module, export_onnx
from models.onnx.metadata import OnnxModelError, OnnxModelInfo, read_onnx_info

__all__ = [
    "ExportResult",
    "OnnxModelError",
    "OnnxModelInfo",
    "export_module",
    "export_onnx",
    "read_onnx_info",
]
