"""keylike.data: the data set manifest, validation and the leak-free split."""

from keylike.data.split import SPLITS, SplitConfig, SplitSummary, split_dataset, split_records
from keylike.data.validation import ValidateConfig, ValidationReport, run_validation, validate_dataset

__all__ = [
    "SPLITS",
    "SplitConfig",
    "SplitSummary",
    "ValidateConfig",
    "ValidationReport",
    "run_validation",
    "split_dataset",
    "split_records",
    "validate_dataset",
]
