"""Nothing stale, nothing lost: where training may write, and what a model folder may name.

Each test drives the CLI as a user does: the exit code, a message naming
the file and the key or option, no traceback, and every file that must
survive byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from nodes.model import Progress, _dataset, _io, train_classifier
from support import REPO_ROOT, run_cli

MODELS = REPO_ROOT / "graphs" / "models"


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (links as their target) with its content."""
    return {
        str(p.relative_to(root)): (str(p.readlink()).encode() if p.is_symlink() else p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's folder: the training graphs, 3 clips per voice with labels, and notes."""
    root = tmp_path / "project"
    _dataset.make_voices(root / "data", per_class=3, seed=0)
    for name in ("voices_train.toml", "voice_features.toml"):
        shutil.copy(MODELS / name, root / name)
    (root / "notes.txt").write_text("my notes\n")
    return root


def _train(
    project: Path, out: str, *more: str, labels: str = "data/labels.csv", cwd: Path | None = None
):
    return run_cli(
        "train",
        str(project / "voices_train.toml"),
        "--labels",
        str(project / labels),
        "--input-param",
        "input",
        "--output-node",
        "feats.vector",
        "--arch",
        "mlp",
        "--epochs",
        "2",
        "--out",
        out,
        *more,
        cwd=cwd or project,
        timeout=300,
    )


def _refused(done, *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


# -- where training may write --------------------------------------------------------------


def test_out_the_current_folder_is_refused_and_nothing_in_it_is_lost(project: Path) -> None:
    before = _snapshot(project)
    _refused(_train(project, str(project)), f"--out {project}", "current folder")
    _refused(_train(project, "."), "--out .", "current folder")
    _refused(_train(project, "..", cwd=project / "data"), "--out ..", "current folder")
    gen = run_cli(
        "train-gen",
        str(project / "voices_train.toml"),
        "--output-node",
        "src",
        "--arch",
        "gan",
        "--out",
        ".",
        cwd=project,
    )
    _refused(gen, "--out .", "current folder")
    assert _snapshot(project) == before


def test_out_a_folder_that_is_not_a_model_is_refused(project: Path) -> None:
    (project / "userstuff").mkdir()
    (project / "userstuff" / "thesis.txt").write_text("three years of work\n")
    (project / "file.txt").write_text("a file\n")
    before = _snapshot(project)
    _refused(_train(project, "userstuff"), "--out userstuff", "not a model folder")
    _refused(_train(project, "file.txt"), "--out file.txt", "not a model folder")
    assert _snapshot(project) == before


def test_out_a_folder_holding_the_labels_is_refused(project: Path) -> None:
    before = _snapshot(project)
    _refused(_train(project, "data"), "--out data", "labels.csv", "training reads")
    assert _snapshot(project) == before


def test_replacing_a_model_needs_replace_and_a_folder_of_only_its_files(project: Path) -> None:
    done = _train(project, "model")
    assert done.returncode == 0, done.stderr
    assert (project / "model" / ".graphengine-model").is_file()
    before = _snapshot(project)
    _refused(_train(project, "model"), "--out model", "--replace")
    assert _snapshot(project) == before

    done = _train(project, "model", "--replace", "--seed", "1")
    assert done.returncode == 0, done.stderr
    assert json.loads((project / "model" / "model.json").read_text())["training"]["seed"] == 1

    (project / "model" / "thesis.txt").write_text("kept here by mistake\n")
    before = _snapshot(project)
    _refused(_train(project, "model", "--replace"), "--out model", "thesis.txt")
    assert _snapshot(project) == before


def test_too_few_files_per_class_is_a_clear_error_before_training(tmp_path: Path) -> None:
    _dataset.make_voices(tmp_path / "tiny", per_class=2, seed=0)
    shutil.copy(MODELS / "voices_train.toml", tmp_path)
    shutil.copy(MODELS / "voice_features.toml", tmp_path)
    done = _train(tmp_path, "model", labels="tiny/labels.csv")
    _refused(
        done, "tiny/labels.csv", "too few labelled files per class", "'saw' has 2", "at least 3"
    )
    assert not (tmp_path / "model").exists()


def test_training_reports_progress_through_its_callback(
    project: Path, capsys: pytest.CaptureFixture
) -> None:
    events: list[Progress] = []
    train_classifier(
        project / "voices_train.toml",
        project / "data" / "labels.csv",
        input_param="input",
        output_node="feats.vector",
        arch="mlp",
        out=project / "model",
        epochs=3,
        cache=False,
        log=None,
        progress=events.append,
    )
    features = [e for e in events if e.stage == "features"]
    epochs = [e for e in events if e.stage == "train mlp"]
    assert [e.done for e in features] == list(range(1, 16)) and features[0].total == 15
    assert [(e.done, e.total) for e in epochs] == [(1, 3), (2, 3), (3, 3)]
    assert "val_loss" in epochs[0].info
    assert capsys.readouterr().err == ""


# -- what a model folder may name ------------------------------------------------------------


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """graphs/classify.toml with its feature graph and a copy of the shipped mlp."""
    root = tmp_path / "use"
    (root / "models").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "graphs" / "classify.toml", root)
    shutil.copy(MODELS / "voice_features.toml", root / "models")
    shutil.copytree(MODELS / "voices_mlp", root / "models" / "voices_mlp")
    return root


def _edit(model: Path, change) -> None:
    spec = json.loads((model / "model.json").read_text())
    change(spec)
    (model / "model.json").write_text(json.dumps(spec))


def _render(shipped: Path):
    return run_cli("render", str(shipped / "classify.toml"), "--no-cache", cwd=shipped)


def _outside(shipped: Path) -> Path:
    """A copy of the weights outside the model folder."""
    outside = shipped / "outside.msgpack"
    shutil.copy(shipped / "models" / "voices_mlp" / "weights.msgpack", outside)
    return outside


def test_a_weights_file_outside_the_model_folder_is_refused(shipped: Path) -> None:
    model = shipped / "models" / "voices_mlp"
    outside = _outside(shipped)
    for name in ("../../outside.msgpack", str(outside)):
        _edit(model, lambda spec, name=name: spec["weights"].update(file=name))
        before = outside.read_bytes()
        done = _render(shipped)
        _refused(done, "voices_mlp/model.json", "weights.file", name)
        assert outside.read_bytes() == before
        assert not (shipped / "out").exists()


def test_a_weights_file_that_links_out_of_the_model_folder_is_refused(shipped: Path) -> None:
    model = shipped / "models" / "voices_mlp"
    outside = _outside(shipped)
    (model / "weights.msgpack").unlink()
    (model / "weights.msgpack").symlink_to(outside)
    done = _render(shipped)
    _refused(done, "voices_mlp/model.json", "weights.file", "outside the model folder")
    assert (
        hashlib.sha256(outside.read_bytes()).hexdigest()
        == json.loads((model / "model.json").read_text())["weights"]["sha256"]
    )


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda spec: spec.update(arch="transformer"), "arch"),
        (lambda spec: spec["config"].update(hidden=[-5, 32]), "config.hidden[0]"),
        (lambda spec: spec["config"].update(hidden="64"), "config.hidden"),
        (lambda spec: spec["config"].update(heads=4), "config.heads"),
        (lambda spec: spec["config"].pop("in_dim"), "config.in_dim"),
        (lambda spec: spec.update(classes="sine"), "classes"),
        (lambda spec: spec["input"].update(shape=[61]), "input.shape"),
        (lambda spec: spec["normaliser"].update(std=[1.0]), "normaliser.std"),
        (lambda spec: spec.update(task="dance"), "task"),
    ],
    ids=[
        "arch",
        "negative-hidden",
        "hidden-text",
        "unknown-key",
        "missing-key",
        "classes",
        "shape",
        "normaliser",
        "task",
    ],
)
def test_a_bad_model_json_names_the_file_and_the_key(shipped: Path, change, key: str) -> None:
    model = shipped / "models" / "voices_mlp"
    _edit(model, change)
    before = _snapshot(shipped)
    done = _render(shipped)
    _refused(done, "voices_mlp/model.json", f"{key}:")
    assert _snapshot(shipped) == before


# -- interrupted training --------------------------------------------------------------------


def _interrupt_at(stage: str, done: int):
    def progress(event: Progress) -> None:
        if event.stage == stage and event.done == done:
            raise KeyboardInterrupt

    return progress


def test_ctrl_c_during_a_training_run_leaves_no_model_folder(project: Path) -> None:
    # the folder is written only after the last epoch; here Ctrl-C comes while the
    # features are extracted (no JAX needed: the test stays cheap)
    with pytest.raises(KeyboardInterrupt):
        train_classifier(
            project / "voices_train.toml",
            project / "data" / "labels.csv",
            input_param="input",
            output_node="feats.vector",
            arch="mlp",
            out=project / "model",
            epochs=3,
            cache=False,
            log=None,
            progress=_interrupt_at("features", 2),
        )
    assert not [p.name for p in project.iterdir() if "model" in p.name]


def test_ctrl_c_while_replacing_a_model_keeps_the_old_one_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "model"
    spec = {"task": "classify", "arch": "mlp"}
    _io.write_model_dir(out, spec, {"w": np.zeros(3, np.float32)})
    before = _snapshot(out)
    rename = os.replace

    def interrupted(source, target) -> None:  # Ctrl-C between moving the old model aside
        rename(source, target)  # and moving the new one in
        if Path(target).name.startswith(".model.old"):
            raise KeyboardInterrupt

    monkeypatch.setattr(_io.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _io.write_model_dir(out, spec, {"w": np.ones(3, np.float32)}, replace=True)
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
