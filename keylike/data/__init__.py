"""keylike.data: synthetic key photos, ingest, the data set manifest, validation and the leak-free split."""

from keylike.data.images import ACCEPTED_FORMATS, ImageRefused, model_picture, normalise_image
from keylike.data.ingest import IngestConfig, ingest
from keylike.data.ingest_report import IngestSummary
from keylike.data.manifest import MANIFEST_NAME, QUARANTINE_NAME, ManifestRecord, read_manifest, write_manifest
from keylike.data.rendering import RenderedKey, RenderInfo, RenderSettings, render_key
from keylike.data.split import SPLITS, SplitConfig, SplitSummary, split_dataset, split_records
from keylike.data.synthesis import (
    LABELS_NAME,
    SyntheticKey,
    contact_sheet,
    plan_keyways,
    synthesize_key,
    write_contact_sheet,
    write_synthetic_dataset,
)
from keylike.data.user_datasets import QuarantineEntry
from keylike.data.validation import ValidateConfig, run_validation, validate_dataset
from keylike.data.validation_report import ValidationReport

__all__ = [
    "ACCEPTED_FORMATS",
    "LABELS_NAME",
    "MANIFEST_NAME",
    "QUARANTINE_NAME",
    "SPLITS",
    "ImageRefused",
    "IngestConfig",
    "IngestSummary",
    "ManifestRecord",
    "QuarantineEntry",
    "RenderInfo",
    "RenderSettings",
    "RenderedKey",
    "SplitConfig",
    "SplitSummary",
    "SyntheticKey",
    "ValidateConfig",
    "ValidationReport",
    "contact_sheet",
    "ingest",
    "model_picture",
    "normalise_image",
    "plan_keyways",
    "read_manifest",
    "render_key",
    "run_validation",
    "split_dataset",
    "split_records",
    "synthesize_key",
    "validate_dataset",
    "write_contact_sheet",
    "write_manifest",
    "write_synthetic_dataset",
]
