"""tuning.* nodes and the Scala .scl parser, against exact tables and the Scala spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from node_harness import infer_node, make_ctx, run_node, validation_error

import graphengine as ge
from graphengine.errors import GraphError, ParamError
from graphengine.types import Frequencies
from nodes.tuning.scala import ScalaError, parse_scl, read_scl
from nodes.tuning.systems import equal, harmonic, just, scala

SCL = Path(__file__).resolve().parents[2] / "graphs" / "scl"


def test_twelve_tone_system_from_c_minus_1():
    out = run_node(equal, make_ctx("tuning.equal"))
    assert isinstance(out, Frequencies) and out.hz.dtype == np.float64 and out.hz.size == 128
    assert np.round(out.hz[:4], 2).tolist() == [8.18, 8.66, 9.18, 9.72]
    expected = 440.0 * 2.0 ** ((np.arange(128) - 69) / 12)  # the MIDI table
    np.testing.assert_allclose(out.hz, expected, rtol=1e-14)
    assert out.hz[57] == pytest.approx(220.0) and out.hz[81] == pytest.approx(880.0)
    assert infer_node(equal, make_ctx("tuning.equal"))["out"].shape == (128,)


@pytest.mark.parametrize("divisions", [12, 19, 24, 31, 53])
def test_equal_divisions_step_ratio(divisions):
    out = run_node(
        equal,
        make_ctx("tuning.equal"),
        divisions=divisions,
        reference="A4",
        count=2 * divisions + 1,
    )
    ratios = out.hz[1:] / out.hz[:-1]
    np.testing.assert_allclose(ratios, 2.0 ** (1.0 / divisions), rtol=1e-13)
    assert out.hz[0] == 440.0 and out.hz[divisions] == pytest.approx(880.0)
    assert out.hz[-1] == pytest.approx(1760.0)


def test_quarter_tone_step_and_other_periods():
    q = run_node(equal, make_ctx("tuning.equal"), divisions=24, reference="A4", count=25)
    assert q.hz[1] / q.hz[0] == pytest.approx(2 ** (1 / 24), rel=1e-15)
    bp = run_node(
        equal,
        make_ctx("tuning.equal"),
        divisions=13,
        period_ratio=3.0,
        reference="220 Hz",
        count=14,
    )
    assert bp.hz[-1] == pytest.approx(660.0)
    below = run_node(equal, make_ctx("tuning.equal"), reference="A4", first=-12, count=13)
    assert below.hz[0] == pytest.approx(220.0) and below.hz[-1] == 440.0
    tuned = run_node(equal, make_ctx("tuning.equal"), reference="A4", a4_hz=432.0, count=1)
    assert tuned.hz[0] == 432.0


def test_just_major_scale():
    out = run_node(just, make_ctx("tuning.just"), root="C4", octaves=2)
    c4 = 440.0 * 2 ** (-9 / 12)
    one = np.array([1, 9 / 8, 5 / 4, 4 / 3, 3 / 2, 5 / 3, 15 / 8])
    np.testing.assert_allclose(out.hz, c4 * np.concatenate([one, 2 * one, [4.0]]), rtol=1e-14)
    cents = run_node(just, make_ctx("tuning.just"), ratios=["1/1", "386.3137c", "1.5"], root="100")
    np.testing.assert_allclose(cents.hz, [100.0, 125.0, 150.0, 200.0], rtol=1e-6)


def test_harmonic_series_sonifies_pi():
    out = run_node(harmonic, make_ctx("tuning.harmonic"), frequency=3.14, partials=5)
    np.testing.assert_allclose(out.hz, [3.14, 6.28, 9.42, 12.56, 15.7])
    high = run_node(harmonic, make_ctx("tuning.harmonic"), frequency=3.14, partials=3, first=32)
    np.testing.assert_allclose(high.hz, 3.14 * np.array([32, 33, 34]))


def test_scala_12tet_matches_equal_temperament():
    ctx = make_ctx("tuning.scala")
    out = run_node(scala, ctx, path=str(SCL / "12tet.scl"), root="C4", first=-12, count=25)
    np.testing.assert_allclose(out.hz, 440.0 * 2.0 ** ((np.arange(48, 73) - 69) / 12), rtol=1e-13)


def test_scala_ratios_labels_and_whole_numbers():
    scale = read_scl(SCL / "just_major.scl")
    assert scale.description == "Ptolemy's intense diatonic"
    np.testing.assert_allclose(scale.ratios, [9 / 8, 5 / 4, 4 / 3, 3 / 2, 5 / 3, 15 / 8, 2.0])
    out = run_node(scala, make_ctx("tuning.scala"), path=str(SCL / "just_major.scl"), root="200")
    np.testing.assert_allclose(
        out.hz, 200 * np.array([1, 9 / 8, 5 / 4, 4 / 3, 3 / 2, 5 / 3, 15 / 8, 2])
    )
    assert infer_node(scala, make_ctx("tuning.scala"), path=str(SCL / "just_major.scl"))[
        "out"
    ].shape == (8,)


def test_scala_non_octave_period():
    out = run_node(
        scala, make_ctx("tuning.scala"), path=str(SCL / "bohlen_pierce.scl"), root="100", count=27
    )
    assert out.hz[13] == pytest.approx(300.0) and out.hz[26] == pytest.approx(900.0)
    np.testing.assert_allclose(out.hz[1] / out.hz[0], 3 ** (1 / 13), rtol=1e-6)


def test_scala_spec_details():
    text = "!c\n\n 3 ignored words\n-50.0 x\n.5\n2\n! trailing\nextra lines are ignored\n"
    scale = parse_scl(text)
    assert scale.description == "" and scale.cents[:2] == (-50.0, 0.5)
    assert scale.cents[2] == pytest.approx(1200.0)
    assert parse_scl("d\r\n1\r\n3/2\r\n").cents[0] == pytest.approx(701.955, abs=1e-3)
    assert parse_scl("d\n0\n").cents == ()


@pytest.mark.parametrize(
    ("name", "line", "fragment"),
    [
        ("bad_pitch.scl", 5, "'abc' is not a pitch"),
        ("bad_count.scl", 3, "expected the number of notes"),
        ("too_few.scl", 6, "declares 4 notes on line 3 but holds only 2"),
        ("negative_ratio.scl", 5, "negative"),
        ("zero_denominator.scl", 4, "non-zero numerator and denominator"),
        ("blank_pitch.scl", 5, "blank line"),
    ],
)
def test_bad_scl_files_name_the_line(name, line, fragment):
    with pytest.raises(ScalaError, match=fragment) as caught:
        read_scl(SCL / name)
    assert caught.value.line == line
    # through the node: a ParamError on path, naming node, line and reason
    with pytest.raises(ParamError, match=rf"bad \.scl file: line {line}: .*{fragment}") as error:
        infer_node(scala, make_ctx("tuning.scala", node_id="tun"), path=str(SCL / name))
    assert error.value.node_id == "tun" and error.value.port_or_param == "path"


def test_bad_scl_fails_graph_validation(tmp_path):
    g = ge.Graph()
    g.add("tun", "tuning.scala", path=str(SCL / "bad_pitch.scl"))
    g.add("seq", "notes.from_tuning", tuning="tun")
    g.add("voice", "synth.osc", in_="seq")
    g.add("out", "sink.wav", in_="voice", path=str(tmp_path / "x.wav"))
    with pytest.raises(GraphError, match=r"tun\.path \[tuning\.scala\]: bad \.scl file: line 5"):
        g.validate()


@pytest.mark.parametrize(
    ("fn", "params", "param_name", "fragment"),
    [
        (equal, {"reference": "H4"}, "reference", "'H4' is not a pitch name"),
        (equal, {"first": 10**6, "count": 10}, "count", "too high or too low"),
        (just, {"ratios": []}, "ratios", "is empty"),
        (just, {"ratios": ["1/1", "5/0"]}, "ratios", "not a positive ratio"),
        (just, {"ratios": ["1/1", "3/1"]}, "ratios", "outside one period"),
        (just, {"root": "X"}, "root", "not a pitch name"),
    ],
)
def test_bad_parameters_name_node_and_parameter(fn, params, param_name, fragment):
    ctx = make_ctx(fn.spec.type_id, node_id="tun")
    with pytest.raises(ParamError, match=fragment) as error:
        infer_node(fn, ctx, **params)
    assert error.value.port_or_param == param_name and error.value.node_type == fn.spec.type_id


@pytest.mark.parametrize(
    ("type_id", "params", "name", "fragment"),
    [
        ("tuning.equal", {"period_ratio": 1.0}, "period_ratio", "1 is not above 1"),
        ("tuning.harmonic", {"frequency": 0.0}, "frequency", "must be a positive number of Hz"),
    ],
)
def test_declared_rules_are_checked_by_the_engine(type_id, params, name, fragment):
    error = validation_error(type_id, **params)
    assert isinstance(error, ParamError) and fragment in error.message, error
    assert error.node_id == "n" and error.port_or_param == name and error.node_type == type_id
