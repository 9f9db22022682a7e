"""The one error base of keylike; the CLI, the server and the stages (`run_main`) print it as one line."""

from __future__ import annotations

import sys
from collections.abc import Callable


class KeylikeError(Exception):
    """Base of every error keylike raises on purpose; `exit_code` is what the CLI exits with."""

    exit_code = 1


class ConfigError(KeylikeError):
    """A params.yaml key is unknown, missing or out of range."""

    exit_code = 2


class UnknownKeywayError(KeylikeError):
    """A keyway code that is not in the spec tables."""

    def __init__(self, keyway: str, known: list[str]) -> None:
        super().__init__(f"unknown keyway {keyway!r}; known keyways: {', '.join(known)}")
        self.keyway = keyway


class InvalidBittingError(KeylikeError):
    """A bitting that cannot be cut on its keyway (length, depth range or MACS)."""

    def __init__(self, keyway: str, bitting: list[int] | tuple[int, ...], reason: str) -> None:
        super().__init__(f"bitting {','.join(map(str, bitting))} on {keyway}: {reason}")
        self.keyway = keyway
        self.bitting = tuple(bitting)
        self.reason = reason


class InvalidRecordError(KeylikeError):
    """One data record is wrong; the message names the record and the field."""

    def __init__(self, record_id: str, field: str, reason: str) -> None:
        super().__init__(f"record {record_id} {field}: {reason}")
        self.record_id = record_id
        self.field = field
        self.reason = reason


class AnswerParseError(KeylikeError):
    """A model answer that does not follow the KEYWAY/BITTING/BRAND format."""

    def __init__(self, answer: str, reason: str) -> None:
        super().__init__(f"cannot parse answer ({reason}): {answer[:200]!r}")
        self.answer = answer
        self.reason = reason


class ValidationFailedError(KeylikeError):
    """The data set failed validation; the message names each failed expectation and its records."""


class RefusedInputError(KeylikeError):
    """One outside input (a record, a file, an image) refused; `reason` is its stable name (a quarantine reason)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class UnsafeDatasetError(KeylikeError):
    """A data set holds links, special files or paths that leave it; nothing of it was added."""


class ExportToolsMissingError(KeylikeError):
    """An export format needs tools of the `export` extra that are not installed."""

    def __init__(self, export_format: str, missing: list[str]) -> None:
        super().__init__(
            f"export format {export_format} needs {', '.join(missing)}, not installed; "
            'install the export extra: pip install -e ".[export]" (or drop it from export.formats)'
        )
        self.export_format = export_format
        self.missing = missing


class ExportParityError(KeylikeError):
    """An exported format answers differently from the PyTorch merged model too often."""


def run_main(main: Callable[[], object], name: str) -> None:
    """Run a stage's `main`; a KeylikeError (whose message already says what to do) prints one line
    `NAME: error: ...` and exits with its code, without a traceback under `dvc repro`."""
    try:
        main()
    except KeylikeError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
