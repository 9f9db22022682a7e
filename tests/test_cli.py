"""`keylike` itself: --version, bare and unknown commands, each command's --help."""

import argparse
import re

import pytest

from keylike.cli import COMMANDS, main
from keylike.commands import command_parser


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


@pytest.mark.parametrize("verb", COMMANDS)
def test_help_ends_with_an_examples_block_and_shows_defaults(verb, capsys) -> None:
    with pytest.raises(SystemExit):
        main([verb, "--help"])
    out = capsys.readouterr().out
    prose, examples = out.split("\nexamples:\n")
    assert examples.strip() and all(line.startswith(f"  keylike {verb}") for line in examples.splitlines()), examples
    assert not re.search(rf"^\s+keylike {verb}\b", prose, re.MULTILINE), "an example left in the description"
    assert "options:" in prose and "\n\n\n" not in prose
    for action in command_parser(verb)[0]._actions:
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            entry = out.split(f"\n  {', '.join(action.option_strings)}", 1)[1].split("\n  -", 1)[0]
            assert "default" in entry, f"{verb} {action.option_strings[0]} does not show its default"


def test_keylike_help_ends_with_examples(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "\nexamples:\n  keylike predict key.jpg " in capsys.readouterr().out
