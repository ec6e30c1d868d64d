"""The names validation infers for vectors and feature rows are the names the run gives.

Validation refuses a repeated name (a JSON object would keep one value, a CSV
header would repeat a column) from the names a node's ``infer`` reports, so
those names must be the ones its output will carry.
"""

from __future__ import annotations

import graphengine as ge
from graphengine.types import Features, Vector

ONE_ROW = ("centroid", "bandwidth", "rolloff", "flatness", "rms", "onset_strength", "tempo")


def _graph() -> ge.Graph:
    g = ge.Graph(sample_rate=8000)
    g.add("osc", "source.tone", frequency=440.0, duration_s=0.3)
    g.add("quiet", "source.tone", frequency=440.0, duration_s=0.3, amplitude=0.25)
    g.add("spec", "spectral.stft", in_="osc", n_fft=256, hop=128)
    for name in ONE_ROW:
        g.add(name, f"feature.{name}", in_="spec")
    g.add("mfcc", "feature.mfcc", in_="spec", n_mfcc=5, n_mels=20)
    g.add("contrast", "feature.contrast", in_="spec", n_bands=3, fmin_hz=200.0)
    g.add("zcr", "feature.zcr", in_="osc", frame_length=256, hop=128)
    g.add("loud", "feature.loudness", in_="osc")
    g.add("rms_again", "feature.rms", in_="spec")
    g.add("feats", "feature.stack", in_=["rms", "rms_again", "mfcc", "contrast", "zcr"])
    g.add("stats", "feature.summary", in_="feats", stats=["mean"], percentiles=[90])
    g.add("snr", "metric.snr", ref="osc", test="quiet")
    g.add("mse", "metric.mse", ref="osc", test="quiet")
    g.add("all", "feature.stack_vectors", in_=["stats", "snr", "mse", "loud"], prefixes=[])
    return g


def test_inferred_names_are_the_names_the_run_gives() -> None:
    g = _graph()
    valid = g.validate()
    ports = [
        (node_id, port)
        for node_id, node in valid.nodes.items()
        for port, info in node.info.items()
        if info.type in ("vector", "features")
    ]
    result = g.run(outputs=[f"{n}.{p}" for n, p in ports], cache=False)
    unknown = []
    for node_id, port in ports:
        inferred = valid.nodes[node_id].info[port].names
        value = result[f"{node_id}.{port}"]
        assert isinstance(value, Features | Vector)
        if inferred is None:
            unknown.append(node_id)
            continue
        assert inferred == value.names, f"{node_id}.{port}"
    assert unknown == []  # every node here knows its names before the run
    assert valid.nodes["feats"].info["out"].names[:2] == ("rms", "rms_2")
    joined = valid.nodes["all"].info["out"].names
    start = joined.index("snr_db")
    assert joined[start : start + 3] == ("snr_db", "mse", "integrated_lufs")
