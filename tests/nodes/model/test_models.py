"""Model nodes and training (nodes/model/): accuracy, determinism, caching, reload, errors.

The dataset is made at run time by the engine (nodes/model/_dataset.py):
five synthesis voices x 24 clips of 0.5 s at 16 kHz, at random pitches and
loudness. Features come from graphs/models/voices_train.toml.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphengine as ge
from nodes.model import _dataset, _io, train_classifier, train_generator
from support import REPO_ROOT, cli_env, run_cli

MODELS = REPO_ROOT / "graphs" / "models"


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic dataset plus copies of the training graphs, in one folder."""
    root = tmp_path_factory.mktemp("voices")
    _dataset.make_voices(root / "data", per_class=24, seed=0)
    for name in ("voices_train.toml", "voice_features.toml", "tone_train.toml"):
        shutil.copy(MODELS / name, root / name)
    return root


def _wav(voices: Path, voice: str) -> str:
    """The first clip of ``voice`` in the dataset."""
    return str(next((voices / "data" / voice).glob("*.wav")))


def _train_cli(
    voices: Path,
    out: Path,
    arch: str = "mlp",
    node: str = "feats.vector",
    labels: Path | None = None,
):
    return run_cli(
        "train",
        str(voices / "voices_train.toml"),
        "--labels",
        str(labels or voices / "data/labels.csv"),
        "--input-param",
        "input",
        "--output-node",
        node,
        "--arch",
        arch,
        "--out",
        str(out),
        "--cache-dir",
        str(voices / "cache"),
        "--seed",
        "0",
        timeout=300,
    )


@pytest.fixture(scope="module")
def mlp_runs(voices: Path) -> tuple[Path, Path]:
    """The mlp trained twice from the CLI with the same seed and cache."""
    first, second = voices / "mlp1", voices / "mlp2"
    for out in (first, second):
        done = _train_cli(voices, out)
        assert done.returncode == 0, done.stderr
    return first, second


def test_mlp_from_the_cli_reaches_95_percent(mlp_runs: tuple[Path, Path]) -> None:
    metrics = json.loads((mlp_runs[0] / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95
    assert sum(map(sum, metrics["confusion"])) == metrics["sizes"]["test"] == 30
    assert set(metrics["per_class"]) == set(_dataset.VOICES)
    assert (mlp_runs[0] / "confusion.png").stat().st_size > 1000


def test_retraining_gives_identical_metrics_and_features_come_from_the_cache(
    mlp_runs: tuple[Path, Path],
) -> None:
    first, second = (json.loads((p / "metrics.json").read_text()) for p in mlp_runs)
    assert first == second
    assert (mlp_runs[0] / "weights.msgpack").read_bytes() == (
        mlp_runs[1] / "weights.msgpack"
    ).read_bytes()
    run1, run2 = (json.loads((p / "run.json").read_text()) for p in mlp_runs)
    assert run1["nodes_computed"] > 0
    assert run2["nodes_computed"] == 0 and run2["nodes_cached"] >= 120


@pytest.mark.parametrize(("arch", "node"), [("cnn", "feats.mel"), ("lstm", "feats.frames")])
def test_cnn_and_lstm_reach_90_percent(voices: Path, arch: str, node: str) -> None:
    metrics = train_classifier(
        voices / "voices_train.toml",
        voices / "data/labels.csv",
        input_param="input",
        output_node=node,
        arch=arch,
        out=voices / arch,
        cache=voices / "cache",
        seed=0,
        log=None,
    )
    assert metrics["test_accuracy"] >= 0.90
    spec = json.loads((voices / arch / "model.json").read_text())
    assert spec["input"]["type"] == "features" and len(spec["classes"]) == 5


def _classify_graph(model: Path, wav: str) -> ge.Graph:
    g = ge.load(MODELS / "voices_train.toml")
    g.params["input"] = wav
    g.add("which", "model.classify", in_="feats.vector", model=str(model / "model.json"))
    return g


def test_a_reloaded_model_predicts_the_same_in_a_new_process(
    voices: Path, mlp_runs: tuple[Path, Path]
) -> None:
    model = mlp_runs[0]
    tests = json.loads((model / "metrics.json").read_text())["test_files"][:5]
    wavs = [str(voices / "data" / name) for name in tests]
    here = [
        _classify_graph(model, wav).run(outputs=["which"], cache=False)["which"].probabilities
        for wav in wavs
    ]
    script = (
        "import json, sys\nfrom test_models import _classify_graph\nfrom pathlib import Path\n"
        "out = [_classify_graph(Path(sys.argv[1]), w).run(outputs=['which'], cache=False)"
        "['which'].probabilities.tolist() for w in sys.argv[2:]]\nprint(json.dumps(out))\n"
    )
    env = cli_env()
    env["PYTHONPATH"] = f"{Path(__file__).parent}:{REPO_ROOT / 'tests'}:{env['PYTHONPATH']}"
    done = subprocess.run(
        [sys.executable, "-c", script, str(model), *wavs],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout)
    np.testing.assert_allclose(np.array(here), np.array(there), atol=1e-6)
    assert all(abs(p.sum() - 1) < 1e-5 for p in here)


def test_the_apply_function_is_compiled_once_per_input_shape(mlp_runs: tuple[Path, Path]) -> None:
    wav = _wav(mlp_runs[0].parent, "saw")
    _classify_graph(mlp_runs[0], wav).run(outputs=["which"], cache=False)
    compiles = len(_io.COMPILES)
    result = _classify_graph(mlp_runs[0], wav).run(outputs=["which"], cache=False)
    assert len(_io.COMPILES) == compiles
    assert result["which"].classes[int(np.argmax(result["which"].probabilities))] == "saw"


def test_top_k_and_embed(mlp_runs: tuple[Path, Path]) -> None:
    wav = _wav(mlp_runs[0].parent, "sine")
    g = _classify_graph(mlp_runs[0], wav)
    g.set("which", top_k=2)
    g.add("emb", "model.embed", in_="feats.vector", model=str(mlp_runs[0] / "model.json"))
    result = g.run(outputs=["which", "emb"], cache=False)
    assert result["which"].classes[0] == "sine" and len(result["which"].classes) == 2
    assert result["which"].probabilities[0] >= result["which"].probabilities[1]
    assert result["emb"].values.shape == (32,)


# -- bad inputs ----------------------------------------------------------------------------


def test_missing_model_dir_is_a_validation_error(voices: Path, tmp_path: Path) -> None:
    g = _classify_graph(tmp_path / "nowhere", _wav(voices, "fm"))
    with pytest.raises(ge.GraphError, match=r"which\.model.*nowhere"):
        g.validate()
    with pytest.raises(ge.GraphError, match=r"no model at"):
        _io.read_spec(tmp_path / "nowhere")


def test_a_model_file_without_an_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("5")
    with pytest.raises(_io.ModelFileError, match=r"holds no JSON object"):
        _io.read_spec(tmp_path / "model.json")


def test_a_corrupted_weights_file_is_refused(mlp_runs: tuple[Path, Path], tmp_path: Path) -> None:
    model = tmp_path / "broken"
    shutil.copytree(mlp_runs[0], model)
    blob = bytearray((model / "weights.msgpack").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (model / "weights.msgpack").write_bytes(bytes(blob))
    wav = _wav(mlp_runs[0].parent, "fm")
    with pytest.raises(ge.GraphError, match=r"which\.model.*corrupted or replaced weights"):
        _classify_graph(model, wav).run(outputs=["which"], cache=False)


def test_a_wrong_feature_dimension_is_refused_before_running(mlp_runs: tuple[Path, Path]) -> None:
    wav = _wav(mlp_runs[0].parent, "fm")
    g = ge.load(MODELS / "voices_train.toml")
    g.params["input"] = wav
    g.add("short", "feature.summary", in_="feats.mel", stats=["mean"])
    g.add("which", "model.classify", in_="short", model=str(mlp_runs[0] / "model.json"))
    with pytest.raises(ge.GraphError, match=r"which\.in.*expects a vector of 60 values, got 32"):
        g.validate()


def test_a_features_model_refuses_a_vector(voices: Path, mlp_runs: tuple[Path, Path]) -> None:
    g = _classify_graph(mlp_runs[0], _wav(voices, "fm"))
    g.set("which", in_="feats.mel")
    with pytest.raises(ge.GraphError, match=r"which\.in.*expects vector, got features"):
        g.validate()


def _labels(voices: Path, rows: list[tuple[str, str]]) -> Path:
    path = voices / "data" / "bad_labels.csv"
    path.write_text("path,label\n" + "".join(f"{p},{label}\n" for p, label in rows))
    return path


def test_bad_labels_fail_clearly_and_write_nothing(voices: Path) -> None:
    out = voices / "never"
    unknown = _labels(voices, [("sine/sine_000.wav", "sine"), ("missing/x.wav", "saw")])
    done = _train_cli(voices, out, labels=unknown)
    assert done.returncode == 2 and "name no file" in done.stderr and "missing/x.wav" in done.stderr
    assert "Traceback" not in done.stderr
    one = _labels(voices, [("sine/sine_000.wav", "sine"), ("sine/sine_001.wav", "sine")])
    with pytest.raises(ge.GraphError, match="only one class"):
        train_classifier(
            voices / "voices_train.toml",
            one,
            input_param="input",
            output_node="feats.vector",
            arch="mlp",
            out=out,
            log=None,
        )
    assert not out.exists()
    assert not [p for p in voices.iterdir() if p.name.startswith(".never")]


# -- generators ----------------------------------------------------------------------------


def _f0(x: np.ndarray, rate: float) -> float:
    """Fundamental by autocorrelation with parabolic interpolation of the peak lag."""
    x = x - x.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1 :]
    lo, hi = int(rate / 1000), int(rate / 60)
    lag = lo + int(np.argmax(ac[lo:hi]))
    a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
    return rate / (lag + 0.5 * (a - c) / (a - 2 * b + c))


@pytest.mark.slow
def test_lstm_gen_continues_a_tone_and_the_gan_moves_toward_the_data(voices: Path) -> None:
    graph = voices / "tone_train.toml"
    train_generator(
        graph, output_node="tone", arch="lstm_gen", out=voices / "gen", cache=False, log=None
    )
    g = ge.Graph(sample_rate=16000)
    g.add("gen", "model.generate", model=str(voices / "gen" / "model.json"), duration_s=1.5)
    audio = g.run(outputs=["gen"], cache=False)["gen"].samples[0]
    assert np.isfinite(audio).all() and np.sqrt(np.mean(audio**2)) > 0.01
    assert abs(_f0(audio[8000:], 16000) / 220.0 - 1) < 0.02

    metrics = train_generator(
        graph, output_node="tone", arch="gan", out=voices / "gan", cache=False, log=None
    )
    assert all(np.isfinite([h["d_loss"], h["g_loss"]]).all() for h in metrics["history"])
    assert metrics["spectral_distance_db_after"] < 0.8 * metrics["spectral_distance_db_before"]
    g = ge.Graph(sample_rate=16000)
    g.add("gan", "model.generate", model=str(voices / "gan" / "model.json"), seed=1)
    assert np.isfinite(g.run(outputs=["gan"], cache=False)["gan"].samples).all()


def test_the_shipped_example_models_work() -> None:
    result = ge.load(REPO_ROOT / "graphs" / "classify.toml").run(outputs=["which"], cache=False)
    prediction = result["which"]
    assert prediction.classes[int(np.argmax(prediction.probabilities))] == "pluck"
    result = ge.load(REPO_ROOT / "graphs" / "generate.toml").run(outputs=["gen"], cache=False)
    audio = result["gen"].samples[0]
    assert np.isfinite(audio).all() and abs(_f0(audio, 16000) / 220.0 - 1) < 0.02
