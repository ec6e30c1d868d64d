"""sink.csv, sink.json, sink.image: files people and models can use."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from node_harness import infer_node, make_ctx, run_node
from PIL import Image as PILImage

from graphengine.errors import PortError
from graphengine.node import PortInfo
from graphengine.types import Audio, Image, Vector
from nodes.feature import extract as F
from nodes.sink import image as plots
from nodes.sink import tables
from nodes.spectral import stft as spectral

SR = 22050


def chirp(seconds: float = 2.0) -> Audio:
    t = np.arange(int(seconds * SR)) / SR
    return Audio((0.5 * np.sin(2 * np.pi * (100 * t + 1500 * t**2))).astype(np.float32), SR)


def test_csv_frame_table_times_are_k_hop_over_sr(tmp_path):
    hop = 300  # not a power of two: times are not exact binary fractions
    spec = run_node(spectral.stft, make_ctx("spectral.stft", SR), chirp(), n_fft=1024, hop=hop)
    feats = run_node(
        F.stack,
        make_ctx("feature.stack"),
        [
            run_node(F.centroid, make_ctx("feature.centroid", SR), spec),
            run_node(F.mfcc, make_ctx("feature.mfcc", SR), spec, n_mfcc=3),
        ],
    )
    path = tmp_path / "f.csv"
    run_node(tables.csv_table, make_ctx("sink.csv"), feats, path=str(path))
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["time_s", "centroid", "mfcc_0", "mfcc_1", "mfcc_2"]
    data = np.array(rows[1:], dtype=np.float64)
    assert data.shape == (feats.values.shape[2], 5)
    np.testing.assert_allclose(data[:, 0], np.arange(len(data)) * hop / SR, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(data[:, 1:].T.astype(np.float32), feats.values[0])


def test_csv_vector_is_one_row_and_json_round_trips(tmp_path):
    vec = Vector([1.5, np.nan, -2.0], ("a_mean", "a_std", "b_mean"))
    path = tmp_path / "v.csv"
    run_node(tables.csv_table, make_ctx("sink.csv"), vec, path=str(path))
    assert list(csv.reader(path.open())) == [["a_mean", "a_std", "b_mean"], ["1.5", "", "-2.0"]]
    jpath = tmp_path / "v.json"
    run_node(tables.json_file, make_ctx("sink.json"), vec, path=str(jpath))
    doc = json.loads(jpath.read_text())
    assert doc == {"type": "vector", "values": {"a_mean": 1.5, "a_std": None, "b_mean": -2.0}}


def test_table_sinks_refuse_audio():
    ctx = make_ctx("sink.csv", node_id="table")
    with pytest.raises(PortError, match="features or vector, got audio"):
        infer_node(tables.csv_table, ctx, {"in": PortInfo("audio", (1, 10))}, path="x.csv")


def _png(tmp_path, value, **params):
    path = tmp_path / "p.png"
    run_node(plots.image, make_ctx("sink.image", SR), value, path=str(path), **params)
    return PILImage.open(path)


def test_image_values_are_written_pixel_for_pixel(tmp_path):
    pixels = np.zeros((3, 5), dtype=np.float32)
    pixels[0, 4] = 1.0  # top right
    pixels[2, 0] = 0.5
    png = _png(tmp_path, Image(pixels))
    assert png.mode == "L" and png.size == (5, 3)
    np.testing.assert_array_equal(np.asarray(png), np.rint(pixels * 255).astype(np.uint8))
    rgb = np.random.default_rng(0).random((4, 6, 3)).astype(np.float32)
    png = _png(tmp_path, Image(rgb))
    assert png.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(png), np.rint(rgb * 255).astype(np.uint8))


@pytest.mark.parametrize("what", ["spectrum", "mel", "chroma", "centroid", "audio"])
def test_drawn_pictures_have_the_size_asked_and_are_not_blank(tmp_path, what):
    audio = chirp()
    spec = run_node(spectral.stft, make_ctx("spectral.stft", SR), audio)
    value = {
        "spectrum": spec,
        "mel": run_node(spectral.mel, make_ctx("spectral.mel", SR), spec, db=True),
        "chroma": run_node(F.chroma, make_ctx("feature.chroma", SR), spec),
        "centroid": run_node(F.centroid, make_ctx("feature.centroid", SR), spec),
        "audio": audio,
    }[what]
    png = _png(tmp_path, value, width_px=640, height_px=320, log_frequency=True)
    assert png.size == (640, 320)
    pixels = np.asarray(png.convert("RGB")).astype(int)
    assert pixels.std() > 20  # axes, labels and data, not a flat field
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
