"""Entry points read from the dist-info files are what importlib.metadata gives."""

from __future__ import annotations

from importlib.metadata import entry_points as metadata_entry_points

from graphengine import plugins


def test_entry_points_match_importlib_metadata() -> None:
    for group in ("graphengine.nodes", "graphengine.commands", "console_scripts", "pytest11"):
        expected = sorted((e.name, e.value) for e in metadata_entry_points(group=group))
        assert plugins.entry_points(group) == expected, group
    assert plugins.entry_points("graphengine.nodes") == [("core", "nodes")]


def test_load_follows_module_and_attributes() -> None:
    import graphengine.cli

    assert plugins.load("graphengine.cli:main") is graphengine.cli.main
    assert plugins.load("graphengine.plugins") is plugins
