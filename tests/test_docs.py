"""The docs match the code: every option the docs name is one the parser has (for the command
the docs name it with), and the usage block in docs/cli.md lists every option of every
command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from made.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OPTION = re.compile(r"(?<![\w-])(--(?:\[no-\])?[a-z][a-z0-9-]*|-n)(?![\w-])")


def _commands(hidden: bool = False) -> dict[str, set[str]]:
    """Each command ("train", "data show", ...) and its options, as its parser has them
    (``hidden``: deprecated spellings too, which the usage leaves out)."""
    parser = build_parser()
    out: dict[str, set[str]] = {}

    def walk(p: argparse.ArgumentParser, prefix: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{prefix} {name}".strip())
        if prefix:
            out[prefix] = {
                s
                for a in p._actions
                if hidden or a.help != argparse.SUPPRESS
                for s in a.option_strings
            } - {"-h", "--help"}

    walk(parser, "")
    return out


def _usage() -> dict[str, str]:
    """docs/cli.md's usage block: each command's text (its line and continuation lines)."""
    text = (ROOT / "docs" / "cli.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    usage: dict[str, str] = {}
    command = None
    for line in block.splitlines():
        if line.startswith("made "):
            words = line.split()
            command = " ".join(words[1:3] if words[1] == "data" else words[1:2])
            usage[command] = line
        elif command is not None:
            usage[command] += " " + line
    return usage


def _options(text: str) -> set[str]:
    found = set()
    for option in OPTION.findall(text):
        if option.startswith("--[no-]"):
            found |= {"--" + option[7:], "--no-" + option[7:]}
        else:
            found.add(option)
    return found


def test_the_usage_block_lists_exactly_each_commands_options():
    commands, usage = _commands(), _usage()
    assert set(usage) == set(commands) - {"data"}
    for command, text in usage.items():
        assert _options(text) == commands[command], command


def test_every_option_the_docs_name_exists():
    every = set().union(*_commands(hidden=True).values()) | {"--version", "--debug", "--help"}
    for path in DOCS:
        text = path.read_text()
        named = _options(" ".join(re.findall(r"`[^`\n]*`", text)))
        named |= _options(" ".join(re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.S)))
        # torchrun's own options, and the misspelling bad-input.md shows being refused
        named = {o for o in named if not o.startswith("--nproc") and o != "--hiden"}
        unknown = named - every
        assert not unknown, f"{path.name} names {sorted(unknown)}, which no command has"
