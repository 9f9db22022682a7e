"""The stage file each test module here tests, loaded as a module (stages/ is not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

STAGES = Path(__file__).resolve().parents[2] / "stages"


@pytest.fixture(scope="module")
def stage(request: pytest.FixtureRequest) -> ModuleType:
    """stages/<name>.py for tests/stages/test_<name>.py, with its `main(argv)`."""
    name = Path(request.module.__file__).stem.removeprefix("test_")
    spec = importlib.util.spec_from_file_location(f"stage_{name}", STAGES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
