"""The validate stage: great-expectations checks on the ingested data set, the gate before training.

Per record: the image decodes, its size and mode are in bounds; the labels are cuttable on a known
keyway with its brand, and the training target parses back to them; one image never has two labels.
Per data set: enough records per keyway, balanced keyways, few records quarantined by ingest.
Python turns the manifest and the image files into one column per check; great-expectations decides
which rows fail and renders Data Docs; keylike names each failing record and why.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image
from tqdm import tqdm

from keylike.config import check, config_from_block
from keylike.data.manifest import MANIFEST_NAME, QUARANTINE_NAME, ManifestRecord
from keylike.errors import AnswerParseError, KeylikeError, ValidationFailedError
from keylike.io import atomic_directory, write_json
from keylike.keys import NO_KEY, KeyLabel, KeywaySpec, format_answer, keyway_codes, load_specs, parse_answer

if TYPE_CHECKING:
    import pandas as pd

MAX_OFFENDERS = 20
"""How many offending records metrics/validation.json lists per expectation."""
SUMMARY_OFFENDERS = 5
"""How many offending records the failure message names per expectation."""
SUITE_NAME = "keylike_manifest"

_FIELD_TYPES: dict[str, type] = {
    "id": str,
    "image": str,
    "sha256": str,
    "width": int,
    "height": int,
    "source": str,
    "keyway": str,
    "bitting": list,
    "brand": str,
}


@dataclass(frozen=True)
class ValidateConfig:
    """The `validate` block of params.yaml."""

    min_records_per_keyway: int
    """Every keyway present in the data set needs at least this many records."""
    max_class_ratio: float
    """Largest keyway count / smallest keyway count may not exceed this."""
    max_quarantined_share: float
    """Largest acceptable share of ingest's input that ingest quarantined (quarantine / (manifest + quarantine))."""
    min_image_side: int
    """Smallest acceptable image width or height, in pixels."""
    max_image_side: int
    """Largest acceptable image width or height, in pixels."""
    image_modes: tuple[str, ...]
    """PIL modes an ingested image may have (ingest writes RGB)."""

    def __post_init__(self) -> None:
        check(self.min_records_per_keyway >= 1, "validate.min_records_per_keyway",
              f"must be >= 1, got {self.min_records_per_keyway}")
        check(self.max_class_ratio >= 1, "validate.max_class_ratio", f"must be >= 1, got {self.max_class_ratio}")
        check(0 <= self.max_quarantined_share <= 1, "validate.max_quarantined_share",
              f"must be in [0, 1], got {self.max_quarantined_share}")
        check(self.min_image_side >= 1, "validate.min_image_side", f"must be >= 1, got {self.min_image_side}")
        check(self.max_image_side >= self.min_image_side, "validate.max_image_side",
              f"must be >= validate.min_image_side ({self.min_image_side}), got {self.max_image_side}")
        check(len(self.image_modes) > 0, "validate.image_modes", "must name at least one PIL mode, e.g. [RGB]")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ValidateConfig:
        """Build from params.yaml's `validate` block."""
        return config_from_block(cls, params, "validate")


@dataclass(frozen=True)
class Offender:
    """One record that fails an expectation, and why."""

    id: str
    image: str
    reason: str


@dataclass(frozen=True)
class ExpectationOutcome:
    """What great-expectations said about one expectation of the suite."""

    name: str
    rule: str
    success: bool
    unexpected_count: int | None
    """Failing records (None for a data-set-level expectation without rows)."""
    offenders: tuple[Offender, ...]
    """The first MAX_OFFENDERS failing records."""
    observed_value: Any
    error: str | None
    """The exception great-expectations raised while evaluating it, if any (counts as a failure)."""
    detail: str | None = None
    """For a failed data-set-level expectation: what was observed against which bound."""
    per_keyway: bool = False
    """`offenders` holds the first record of each failing keyway."""

    def summary(self) -> str:
        """The name, how many records fail, and the first few with file and reason (one per line)."""
        if self.error is not None:
            return f"{self.name}: could not be evaluated: {self.error}"
        if not self.offenders:
            return f"{self.name}: {self.detail or f'observed {self.observed_value!r}'}"
        count = self.unexpected_count or len(self.offenders)
        shown = [f"{o.id} ({o.image}): {o.reason}" for o in self.offenders[:SUMMARY_OFFENDERS]]
        listed, unit = (len(self.offenders), " keyways") if self.per_keyway else (count, "")
        if listed > SUMMARY_OFFENDERS:
            shown.append(f"and {listed - SUMMARY_OFFENDERS} more{unit}")
        head = f"{count} record{'s fail' if count != 1 else ' fails'}"
        if self.per_keyway:
            head = f"{count} records of {listed} keyway{'s' if listed != 1 else ''} fail"
        return f"{self.name}: {head}: " + "\n      ".join(shown)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict for metrics/validation.json."""
        return {
            "name": self.name,
            "rule": self.rule,
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "observed_value": self.observed_value,
            "error": self.error,
            "offending": [{"id": o.id, "image": o.image, "reason": o.reason} for o in self.offenders],
        }


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of every expectation on one ingested data set."""

    data_dir: str
    manifest_sha256: str
    """sha256 of the validated manifest file: split refuses any other manifest."""
    records: int
    quarantined: int
    outcomes: tuple[ExpectationOutcome, ...]
    docs_index: str
    docs_page: str | None
    """The Data Docs page of this validation run (its path holds the run time, so it stays out of the
    metrics JSON, which must be the same for the same data)."""

    @property
    def success(self) -> bool:
        """True when every expectation passed."""
        return all(o.success for o in self.outcomes)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        """The expectations that failed, in suite order."""
        return [o for o in self.outcomes if not o.success]

    @property
    def quarantined_share(self) -> float:
        """Share of ingest's input records that ingest quarantined."""
        total = self.records + self.quarantined
        return self.quarantined / total if total else 0.0

    def summary(self) -> str:
        """Multi-line message naming each failed expectation and its first offending records."""
        if self.success:
            return f"validation of {self.data_dir} passed: {len(self.outcomes)} expectations, {self.records} records"
        lines = [f"validation of {self.data_dir} failed: {len(self.failed)} of {len(self.outcomes)} expectations"]
        lines += [f"  {o.summary()}" for o in self.failed]
        lines.append(f"details: Data Docs {self.docs_page or self.docs_index}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict for metrics/validation.json."""
        return {
            "success": self.success,
            "data": self.data_dir,
            "manifest_sha256": self.manifest_sha256,
            "records": self.records,
            "quarantined": self.quarantined,
            "quarantined_share": self.quarantined_share,
            "evaluated_expectations": len(self.outcomes),
            "failed_expectations": [o.name for o in self.failed],
            "expectations": {o.name: o.to_json() for o in self.outcomes},
            "docs_index": self.docs_index,
        }

    def write_json(self, path: Path | str) -> None:
        """Atomically write metrics/validation.json."""
        write_json(path, self.to_json())

    def raise_if_failed(self) -> None:
        """Raise ValidationFailedError with the summary unless every expectation passed."""
        if not self.success:
            raise ValidationFailedError(self.summary())


@dataclass(frozen=True)
class _Check:
    """One expectation of the suite: its human name, rule, great-expectations class and arguments."""

    name: str
    rule: str
    expectation: str
    kwargs: dict[str, Any]
    explain: Callable[[dict[str, Any]], str] | None = None
    """Why a failing row fails; default: the reason recorded while computing the row's columns."""
    detail: Callable[[Any], str] | None = None
    """For a data-set-level check: what a failing observed value means."""
    per_keyway: bool = False
    """A keyway-level check: list one offending record per keyway, not every record of a failing keyway."""

    def reason(self, row: dict[str, Any]) -> str:
        """The reason this row fails the check."""
        if self.explain is not None:
            return self.explain(row)
        return row["reasons"].get(self.name, f"{self.kwargs.get('column')} = {row.get(self.kwargs.get('column'))!r}")


def _is_true(name: str, rule: str) -> _Check:
    """A check on a precomputed boolean column of the same name (None: not applicable to the row)."""
    return _Check(name, rule, "ExpectColumnValuesToBeInSet", {"column": name, "value_set": [True]})


def _checks(config: ValidateConfig, quarantined: int) -> list[_Check]:
    """The suite, in the order the report lists it."""
    lo, hi = config.min_image_side, config.max_image_side
    modes, codes = list(config.image_modes), [*keyway_codes(), NO_KEY]

    def side(name: str) -> _Check:
        column = f"image_{name}"
        return _Check(f"image_{name}_in_bounds", f"image {name} is {lo}-{hi} px", "ExpectColumnValuesToBeBetween",
                      {"column": column, "min_value": lo, "max_value": hi},
                      explain=lambda row: f"{name} {int(row[column])} px is outside {lo}-{hi}")

    return [
        _Check("records_present", "the manifest holds at least one record", "ExpectTableRowCountToBeBetween",
               {"min_value": 1}, detail=lambda _: "the manifest holds no records; check ingest's quarantine.jsonl"),
        _is_true("record_schema", "each manifest line is a JSON object with the ManifestRecord fields and types"),
        _Check("id_unique", "record ids are unique", "ExpectColumnValuesToBeUnique", {"column": "id"},
               explain=lambda row: f"id {row['id']!r} is used by more than one record"),
        _is_true("image_decodes", "the image file lies inside the data set and decodes"),
        _is_true("image_hash_matches", "the image file's sha256 is the one in the manifest"),
        side("width"),
        side("height"),
        _is_true("image_size_matches_manifest", "the decoded size is the width and height in the manifest"),
        _Check("image_mode_allowed", f"image mode is one of {', '.join(modes)}", "ExpectColumnValuesToBeInSet",
               {"column": "image_mode", "value_set": modes},
               explain=lambda row: f"mode {row['image_mode']} is not one of {', '.join(modes)}"),
        _Check("keyway_known", "the keyway is in the spec table", "ExpectColumnValuesToBeInSet",
               {"column": "keyway", "value_set": codes},
               explain=lambda row: f"keyway {row['keyway']!r} is not one of {', '.join(codes)}"),
        _is_true("brand_matches_keyway", "the brand is the one that makes the keyway"),
        _is_true("bitting_length_matches", "the bitting has the keyway's number of cuts"),
        _is_true("depths_in_range", "every depth is an integer in the keyway's depth range"),
        _is_true("macs_respected", "adjacent cuts differ by at most the keyway's MACS"),
        _is_true("answer_round_trips", "the training target (format_answer) parses back to the same labels"),
        _is_true("same_image_same_label", "records with the same image sha256 have the same labels"),
        _Check("min_records_per_keyway", f"every keyway present has >= {config.min_records_per_keyway} records",
               "ExpectColumnValuesToBeBetween",
               {"column": "keyway_records", "min_value": config.min_records_per_keyway},
               explain=lambda row: f"keyway {row['keyway']} has {int(row['keyway_records'])} records, "
               f"fewer than min_records_per_keyway {config.min_records_per_keyway}", per_keyway=True),
        _Check("class_balance", f"largest / smallest keyway count <= {config.max_class_ratio}",
               "ExpectColumnValuesToBeBetween", {"column": "keyway_balance", "max_value": config.max_class_ratio},
               explain=lambda row: f"keyway {row['keyway']} has {int(row['keyway_records'])} records, "
               f"{row['keyway_balance']:.2f}x the smallest keyway ({row['smallest_keyway']}), "
               f"over max_class_ratio {config.max_class_ratio}", per_keyway=True),
        _Check("quarantined_share", f"share of ingest's input quarantined by ingest <= {config.max_quarantined_share}",
               "ExpectColumnMaxToBeBetween", {"column": "quarantined_share", "max_value": config.max_quarantined_share},
               detail=lambda share: "not measured: the manifest is empty" if share is None else
               f"ingest quarantined {quarantined} records, {share:.1%} of its input, over "
               f"max_quarantined_share {config.max_quarantined_share:.1%}; see {QUARANTINE_NAME}"),
    ]


def _flag(reasons: dict[str, str], name: str, problem: str | None) -> bool:
    """Record `problem` under `name` and return whether the check passed."""
    if problem is not None:
        reasons[name] = problem
    return problem is None


def _parse_line(number: int, raw: bytes) -> tuple[ManifestRecord | None, str | None]:
    """A manifest line as a record, or the reason it is not one."""
    try:
        row = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"line {number} is not valid UTF-8 JSON: {exc}"
    if not isinstance(row, dict):
        return None, f"line {number} is a JSON {type(row).__name__}, not an object"
    missing, unknown = sorted(set(_FIELD_TYPES) - set(row)), sorted(set(row) - set(_FIELD_TYPES))
    if missing or unknown:
        return None, f"line {number} has missing fields {missing} and unknown fields {unknown}"
    for name, kind in _FIELD_TYPES.items():
        value = row[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return None, f"line {number} field {name} must be a JSON {kind.__name__}, got {value!r}"
    return ManifestRecord.from_json(row), None


def _image_columns(data_dir: Path, record: ManifestRecord, reasons: dict[str, str]) -> dict[str, Any]:
    """Read and decode the record's image: hash, decoded size and mode."""
    columns: dict[str, Any] = {"image_decodes": False, "image_hash_matches": None, "image_width": None,
                               "image_height": None, "image_mode": None, "image_size_matches_manifest": None,
                               "file_sha256": None}
    root = data_dir.resolve()
    path = (root / record.image).resolve()
    if Path(record.image).is_absolute() or not path.is_relative_to(root):
        reasons["image_decodes"] = f"image path {record.image!r} leaves the data set"
        return columns
    try:
        data = path.read_bytes()
    except OSError as exc:
        reasons["image_decodes"] = f"cannot read the image file: {exc.strerror or exc}"
        return columns
    digest = hashlib.sha256(data).hexdigest()
    columns["file_sha256"] = digest
    hash_problem = None
    if digest != record.sha256:
        hash_problem = f"file sha256 {digest[:12]}... is not the manifest's {record.sha256[:12]}..."
    columns["image_hash_matches"] = _flag(reasons, "image_hash_matches", hash_problem)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                width, height, mode = image.width, image.height, image.mode
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        reasons["image_decodes"] = f"the image does not decode: {exc}"
        return columns
    size_problem = None
    if (width, height) != (record.width, record.height):
        size_problem = f"decoded size {width}x{height} is not the manifest's {record.width}x{record.height}"
    columns.update(
        image_decodes=True, image_width=width, image_height=height, image_mode=mode,
        image_size_matches_manifest=_flag(reasons, "image_size_matches_manifest", size_problem),
    )
    return columns


def _depth_problems(spec: KeywaySpec, bitting: tuple[Any, ...]) -> str | None:
    """Every depth that is not an integer in the keyway's range, or None."""
    problems = []
    for position, depth in enumerate(bitting, start=1):
        if isinstance(depth, bool) or not isinstance(depth, int):
            problems.append(f"cut {position} depth {depth!r} is not an integer")
        elif not spec.min_depth <= depth <= spec.max_depth:
            problems.append(f"cut {position} depth {depth} is outside {spec.code}'s {spec.min_depth}-{spec.max_depth}")
    return "; ".join(problems) or None


def _macs_problems(spec: KeywaySpec, bitting: tuple[Any, ...]) -> str | None:
    """Every adjacent pair of integer depths further apart than the MACS, or None."""
    problems = []
    for position, (a, b) in enumerate(zip(bitting, bitting[1:]), start=1):
        if isinstance(a, int) and isinstance(b, int) and abs(a - b) > spec.macs:
            problems.append(f"cuts {position}-{position + 1} differ by {abs(a - b)}, over the MACS of {spec.macs}")
    return "; ".join(problems) or None


def _round_trip_problem(label: KeyLabel) -> str | None:
    """Why the training target of `label` does not parse back to `label`, or None."""
    target = format_answer(label)
    try:
        parsed = parse_answer(target)
    except AnswerParseError as exc:
        return f"the training target does not parse back: {exc.reason}"
    return None if parsed == label else f"the training target parses back as {parsed}, not {label}"


def _label_columns(record: ManifestRecord, reasons: dict[str, str]) -> dict[str, Any]:
    """The label checks; those that need the keyway's spec are None for an unknown keyway."""
    columns: dict[str, Any] = {
        "brand_matches_keyway": None, "bitting_length_matches": None, "depths_in_range": None,
        "macs_respected": None,
        "answer_round_trips": _flag(reasons, "answer_round_trips", _round_trip_problem(record.label)),
    }
    if record.label.is_no_key:
        columns.update(
            brand_matches_keyway=_flag(reasons, "brand_matches_keyway",
                                       f"a photo with no key (keyway {NO_KEY}) has brand '', got {record.brand!r}"
                                       if record.brand else None),
            bitting_length_matches=_flag(reasons, "bitting_length_matches",
                                         f"a photo with no key (keyway {NO_KEY}) has no bitting, got "
                                         f"{_bitting_text(record.bitting)}" if record.bitting else None),
            depths_in_range=True, macs_respected=True,
        )
        return columns
    spec = load_specs().get(record.keyway)
    if spec is None:
        return columns
    brand = None
    if record.brand != spec.brand:
        brand = f"brand {record.brand!r} does not make {spec.code} ({spec.brand} does)"
    length = None
    if len(record.bitting) != spec.cuts:
        length = f"bitting {_bitting_text(record.bitting)} has {len(record.bitting)} cuts, {spec.code} has {spec.cuts}"
    columns.update(
        brand_matches_keyway=_flag(reasons, "brand_matches_keyway", brand),
        bitting_length_matches=_flag(reasons, "bitting_length_matches", length),
        depths_in_range=_flag(reasons, "depths_in_range", _depth_problems(spec, record.bitting)),
        macs_respected=_flag(reasons, "macs_respected", _macs_problems(spec, record.bitting)),
    )
    return columns


def _bitting_text(bitting: tuple[Any, ...]) -> str:
    return ",".join(map(str, bitting))


def _label_text(record: ManifestRecord) -> str:
    return f"{record.keyway} {_bitting_text(record.bitting)} {record.brand}"


def _record_row(number: int, raw: bytes, data_dir: Path) -> dict[str, Any]:
    """All per-record columns of one manifest line, with a reason for every failed check."""
    reasons: dict[str, str] = {}
    record, problem = _parse_line(number, raw)
    row: dict[str, Any] = {"line": number, "reasons": reasons, "record": record, "id": None,
                           "display_id": f"line {number}", "image": "?", "keyway": None,
                           "record_schema": _flag(reasons, "record_schema", problem)}
    if record is not None:
        row.update(id=record.id, display_id=record.id, image=record.image, keyway=record.keyway)
        row.update(_image_columns(data_dir, record, reasons))
        row.update(_label_columns(record, reasons))
    return row


def _add_image_label_consistency(rows: list[dict[str, Any]]) -> None:
    """same_image_same_label: records that share an image sha256 must share their labels."""
    by_hash: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["record"] is not None:
            by_hash[row["file_sha256"] or row["record"].sha256].append(row)
    for digest, group in by_hash.items():
        for row in group:
            other = next((o for o in group if o["record"].label != row["record"].label), None)
            problem = None
            if other is not None:
                problem = (f"same image (sha256 {digest[:12]}...) as {other['display_id']}, labelled "
                           f"{_label_text(other['record'])}; this one {_label_text(row['record'])}")
            row["same_image_same_label"] = _flag(row["reasons"], "same_image_same_label", problem)


def _add_dataset_columns(rows: list[dict[str, Any]], quarantined_share: float) -> None:
    """Per-keyway counts and balance ratio on each row of a known keyway, and the quarantined share."""
    specs = load_specs()
    counts = Counter(row["keyway"] for row in rows if row["keyway"] in specs)
    smallest = min(counts.items(), key=lambda item: (item[1], item[0])) if counts else None
    for row in rows:
        count = counts.get(row["keyway"])
        row["keyway_records"] = count
        row["keyway_balance"] = count / smallest[1] if count and smallest else None
        row["smallest_keyway"] = f"{smallest[0]}, {smallest[1]}" if smallest else None
        row["quarantined_share"] = quarantined_share


def _frame(rows: list[dict[str, Any]], checks: list[_Check]) -> pd.DataFrame:
    """The batch great-expectations validates: `row` (index into `rows`), `record` (its id), a column per check."""
    import pandas as pd

    checked = list(dict.fromkeys(c.kwargs["column"] for c in checks if "column" in c.kwargs))
    data = [{"row": i, "record": row["display_id"], **{c: row.get(c) for c in checked}} for i, row in enumerate(rows)]
    frame = pd.DataFrame(data, columns=["row", "record", *checked])
    for name in checked:
        if frame[name].dtype == bool or frame[name].isna().any():
            frame[name] = frame[name].astype(object)
    return frame


def _plugins_directory() -> Path:
    """keylike's Data Docs plugins: a stylesheet that keeps the pages readable without the CDN."""
    return Path(str(resources.files("keylike.data").joinpath("gx_plugins")))


def _run_suite(frame: pd.DataFrame, checks: list[_Check], docs_dir: Path) -> dict[str, Any]:
    """Run the suite in an ephemeral great-expectations context; Data Docs go to `docs_dir`."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        plugins_directory=str(_plugins_directory()),
        data_docs_sites={"keylike": site},
    ))
    batch = context.data_sources.add_pandas("ingested").add_dataframe_asset("manifest")
    suite = context.suites.add(gx.ExpectationSuite(
        name=SUITE_NAME,
        expectations=[
            getattr(gx.expectations, c.expectation)(
                **c.kwargs, meta={"name": c.name}, notes=f"**{c.name}**: {c.rule}", description=f"{c.name}: {c.rule}"
            )
            for c in checks
        ],
        meta={"notes": "keylike's gate between ingest and split; each expectation's meta.name is its keylike name"},
    ))
    definition = context.validation_definitions.add(gx.ValidationDefinition(
        name="ingested_manifest", data=batch.add_batch_definition_whole_dataframe("all"), suite=suite,
    ))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name="validate",
        validation_definitions=[definition],
        actions=[UpdateDataDocsAction(name="data_docs")],
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["row", "record"]},
    ))
    result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name="keylike-validate"))
    return {r.expectation_config.meta["name"]: r for vr in result.run_results.values() for r in vr.results}


def _exception_message(info: dict[str, Any]) -> str | None:
    """The message of an exception great-expectations caught while evaluating, if any."""
    entries = [info] if "raised_exception" in info else [e for e in info.values() if isinstance(e, dict)]
    messages = [e.get("exception_message") or "an exception was raised" for e in entries if e.get("raised_exception")]
    return "; ".join(dict.fromkeys(messages)) or None


def _plain(value: Any) -> Any:
    """numpy scalars to Python, for JSON."""
    return value.item() if hasattr(value, "item") else value


def _outcome(check: _Check, result: Any, rows: list[dict[str, Any]]) -> ExpectationOutcome:
    """Turn one great-expectations result into an outcome naming the failing records."""
    if result is None:
        return ExpectationOutcome(check.name, check.rule, False, None, (), None, "great-expectations gave no result")
    error = _exception_message(result.exception_info or {})
    details = result.result or {}
    indices = [int(item["row"]) for item in details.get("unexpected_index_list") or []]
    if check.per_keyway:
        first: dict[str, int] = {}
        for i in indices:
            first.setdefault(rows[i]["keyway"], i)
        indices = list(first.values())
    offenders = tuple(
        Offender(rows[i]["display_id"], rows[i]["image"], check.reason(rows[i])) for i in indices[:MAX_OFFENDERS]
    )
    observed = _plain(details.get("observed_value"))
    success = bool(result.success) and error is None
    return ExpectationOutcome(
        name=check.name,
        rule=check.rule,
        success=success,
        unexpected_count=_plain(details["unexpected_count"]) if "unexpected_count" in details else None,
        offenders=offenders,
        observed_value=observed,
        error=error,
        detail=check.detail(observed) if check.detail and not success and error is None else None,
        per_keyway=check.per_keyway,
    )


def _count_lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def validate_dataset(config: ValidateConfig, data_dir: Path | str, docs_dir: Path | str) -> ValidationReport:
    """Run every check on the ingested data set in `data_dir`; write Data Docs (atomically) to `docs_dir`."""
    data_dir, docs_dir = Path(data_dir), Path(docs_dir)
    manifest, quarantine = data_dir / MANIFEST_NAME, data_dir / QUARANTINE_NAME
    for path in (manifest, quarantine):
        if not path.is_file():
            raise KeylikeError(f"{path} not found: run the ingest stage (`keylike ingest`) first")
    content = manifest.read_bytes()
    quarantined = _count_lines(quarantine)
    lines = [(n, raw) for n, raw in enumerate(content.splitlines(), start=1) if raw.strip()]
    rows = [_record_row(n, raw, data_dir) for n, raw in tqdm(lines, desc="validate", unit="record", leave=False)]
    total = len(rows) + quarantined
    _add_image_label_consistency(rows)
    _add_dataset_columns(rows, quarantined / total if total else 0.0)
    checks = _checks(config, quarantined)
    with atomic_directory(docs_dir) as tmp:
        results = _run_suite(_frame(rows, checks), checks, tmp)
        page = next(iter(sorted(tmp.glob("validations/**/*.html"))), None)
        page_path = str(docs_dir / page.relative_to(tmp)) if page else None
    return ValidationReport(
        data_dir=str(data_dir),
        manifest_sha256=hashlib.sha256(content).hexdigest(),
        records=len(rows),
        quarantined=quarantined,
        outcomes=tuple(_outcome(c, results.get(c.name), rows) for c in checks),
        docs_index=str(docs_dir / "index.html"),
        docs_page=page_path,
    )


def run_validation(
    config: ValidateConfig, data_dir: Path | str, docs_dir: Path | str, metrics_path: Path | str
) -> ValidationReport:
    """The validate stage: validate, write the metrics and Data Docs, raise ValidationFailedError on failure."""
    report = validate_dataset(config, data_dir, docs_dir)
    report.write_json(metrics_path)
    report.raise_if_failed()
    return report
