"""`keylike` itself: --version, bare and unknown commands."""

import pytest

from keylike.cli import main


def test_version_prints_the_package_version(capsys) -> None:
    from importlib import metadata

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"keylike {metadata.version('keylike')}"


@pytest.mark.parametrize("argv", [[], ["nonsense"]])
def test_bare_or_unknown_command_exits_2_with_usage(argv, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: keylike" in capsys.readouterr().err
