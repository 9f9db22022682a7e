"""The great-expectations side of validation: the checks as expectations, the batch of their columns, the
suite run in an ephemeral context that writes Data Docs, and each result turned into a keylike outcome."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keylike.data.validation_report import MAX_OFFENDERS, ExpectationOutcome, Offender

if TYPE_CHECKING:
    import pandas as pd

SUITE_NAME = "keylike_manifest"


@dataclass(frozen=True)
class Check:
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


def is_true(name: str, rule: str) -> Check:
    """A check on a precomputed boolean column of the same name (None: not applicable to the row)."""
    return Check(name, rule, "ExpectColumnValuesToBeInSet", {"column": name, "value_set": [True]})


def frame(rows: list[dict[str, Any]], checks: list[Check]) -> pd.DataFrame:
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


def _run_suite(frame: pd.DataFrame, checks: list[Check], docs_dir: Path) -> dict[str, Any]:
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


def _outcome(check: Check, result: Any, rows: list[dict[str, Any]]) -> ExpectationOutcome:
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


def evaluate(rows: list[dict[str, Any]], checks: list[Check], docs_dir: Path) -> tuple[ExpectationOutcome, ...]:
    """Run `checks` on the columns of `rows` (Data Docs to `docs_dir`): one outcome per check, in order."""
    results = _run_suite(frame(rows, checks), checks, docs_dir)
    return tuple(_outcome(c, results.get(c.name), rows) for c in checks)
