"""What validation found: each expectation's outcome, the report, its metrics JSON and the failure message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keylike.errors import ValidationFailedError
from keylike.io import write_metrics

MAX_OFFENDERS = 20
"""How many offending records metrics/validation.json lists per expectation."""
SUMMARY_OFFENDERS = 5
"""How many offending records the failure message names per expectation."""


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
            "failed_expectations": len(self.failed),
            "failed": [o.name for o in self.failed],
            "expectations": {o.name: o.to_json() for o in self.outcomes},
            "docs_index": self.docs_index,
        }

    def write_json(self, path: Path | str) -> None:
        """Write metrics/validation.json (records validated) and its details (failure counts, every expectation's
        name, rule and first offending records, the manifest's sha256) to metrics/details/validation.json."""
        write_metrics(path, self.to_json(), ("records",))

    def raise_if_failed(self) -> None:
        """Raise ValidationFailedError with the summary unless every expectation passed."""
        if not self.success:
            raise ValidationFailedError(self.summary())

