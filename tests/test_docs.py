"""The README stays true: every setting is documented, the shipped peerlearn.toml equals the
defaults, every command line in the README parses, and the query examples run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from recommender.cli import build_parser
from recommender.settings import Settings, as_dict, documented_fields, load_settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[list[str]]:
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("peerlearn "):
                cmds.append(shlex.split(line)[1:])
            elif "| peerlearn " in line:
                cmds.append(shlex.split(line.split("| peerlearn ", 1)[1]))
    return cmds


@pytest.mark.parametrize("section, key", [(s, k) for s, k, _, _ in documented_fields()])
def test_every_setting_is_in_the_readme(section, key):
    assert f"`{section}.{key}`" in README


def test_every_setting_has_a_docstring():
    assert all(doc for *_, doc in documented_fields())


def test_shipped_toml_equals_the_defaults():
    assert as_dict(load_settings(ROOT / "peerlearn.toml")) == as_dict(Settings())


def test_readme_command_lines_parse():
    cmds = readme_commands()
    assert len(cmds) >= 15
    parser = build_parser()
    for argv in cmds:
        parser.parse_args(argv)


def test_readme_query_examples_run(tmp_path, monkeypatch, capsys):
    from recommender.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["build"]) == 0
    for argv in readme_commands():
        if argv[0] == "query" and "--file" not in argv and "-" not in argv:
            assert main(argv) == 0, argv
    out = capsys.readouterr().out
    assert "Energy systems" in out
