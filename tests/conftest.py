"""Shared fixtures. Plain helpers live in ``support.py`` (import them from there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import REPO_ROOT, cli_env, run_cli

__all__ = ["REPO_ROOT", "cli_env", "run_cli"]


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT
