"""Export: the adapter, the merged model and on-device formats, each checked against PyTorch."""

from keylike.model.export.base import FORMATS, ExportConfig
from keylike.model.export.core import (
    ExportReport,
    FormatReport,
    answer_agreement,
    export_model,
    text_agreement,
)

__all__ = [
    "FORMATS",
    "ExportConfig",
    "ExportReport",
    "FormatReport",
    "answer_agreement",
    "export_model",
    "text_agreement",
]
