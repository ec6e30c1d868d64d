"""source.image, image.to_sound and sound.to_image: reading, mapping, round trips, errors."""

from __future__ import annotations

import numpy as np
import pytest
from node_harness import infer_node, make_ctx, run_node, validation_error
from PIL import Image as PILImage
from PIL import ImageDraw

import graphengine as ge
from graphengine.errors import GraphError, ParamError, PortError
from graphengine.node import PortInfo
from graphengine.types import Audio, Image
from nodes.image.from_sound import to_image
from nodes.image.to_sound import to_sound
from nodes.source.image import source_image

SR = 44100.0


def peak_hz(x: np.ndarray, rate: float = SR) -> float:
    """Frequency of the strongest partial: Hann-windowed FFT, parabolic interpolation in dB."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), 4 * len(x))) + 1e-30
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * rate / (4 * len(x))


def expected_row_hz(row: int, rows: int, fmin: float, fmax: float, scale: str) -> float:
    height = (rows - 1 - row) / (rows - 1)  # top row = fmax
    if scale == "log":
        return fmin * (fmax / fmin) ** height
    return fmin + (fmax - fmin) * height


def drawing(width: int = 128, height: int = 64) -> np.ndarray:
    """A test drawing: a diagonal stroke, a circle and a fainter horizontal line."""
    picture = PILImage.new("L", (width, height), 0)
    pen = ImageDraw.Draw(picture)
    pen.line([(6, 58), (60, 8)], fill=255, width=3)
    pen.ellipse([(70, 10), (115, 55)], outline=255, width=3)
    pen.line([(4, 34), (124, 34)], fill=180, width=2)
    return np.asarray(picture, dtype=np.float32) / 255.0


# --------------------------------------------------------------------------- source.image


def test_source_image_reads_gray_rgb_alpha_and_16_bit(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    PILImage.fromarray(rgb).save(tmp_path / "rgb.png")
    ctx = make_ctx("source.image")
    colour = run_node(source_image, ctx, path=str(tmp_path / "rgb.png"), mode="rgb")
    np.testing.assert_allclose(colour.pixels, rgb / 255.0, atol=1e-6)
    gray = run_node(source_image, ctx, path=str(tmp_path / "rgb.png"))
    luma = rgb @ np.array([0.299, 0.587, 0.114]) / 255.0
    np.testing.assert_allclose(gray.pixels, luma, atol=1e-5)
    # Pillow's own luma conversion rounds to 8 bits: within half a step
    pil_luma = np.asarray(PILImage.fromarray(rgb).convert("L")) / 255.0
    assert np.abs(gray.pixels - pil_luma).max() <= 0.5 / 255 + 1e-6

    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 3] = 0  # fully transparent black: reads as white paper
    rgba[0, 0] = (0, 0, 0, 255)
    PILImage.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    alpha = run_node(source_image, ctx, path=str(tmp_path / "alpha.png"))
    assert alpha.pixels[0, 0] == 0.0 and alpha.pixels[1, 1] == pytest.approx(1.0)

    deep = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    PILImage.fromarray(deep).save(tmp_path / "deep.png")
    read = run_node(source_image, ctx, path=str(tmp_path / "deep.png"))
    np.testing.assert_allclose(read.pixels, deep / 65535.0, atol=1e-6)


def test_source_image_invert_contrast_gamma_and_resize(tmp_path):
    ramp = np.tile(np.arange(0, 256, 5, dtype=np.uint8), (6, 1))
    PILImage.fromarray(ramp).save(tmp_path / "ramp.bmp")
    ctx = make_ctx("source.image")
    b = ramp / 255.0
    out = run_node(source_image, ctx, path=str(tmp_path / "ramp.bmp"), invert=True, gamma=2.0)
    np.testing.assert_allclose(out.pixels, (1 - b) ** 2, atol=1e-6)
    out = run_node(source_image, ctx, path=str(tmp_path / "ramp.bmp"), contrast=2.0)
    np.testing.assert_allclose(out.pixels, np.clip(0.5 + 2 * (b - 0.5), 0, 1), atol=1e-6)
    small = run_node(source_image, ctx, path=str(tmp_path / "ramp.bmp"), rows=3, columns=26)
    assert small.pixels.shape == (3, 26)
    reference = PILImage.fromarray(b.astype(np.float32), "F").resize(
        (26, 3), PILImage.Resampling.LANCZOS
    )
    np.testing.assert_allclose(small.pixels, np.clip(np.asarray(reference), 0, 1), atol=1e-6)
    info = infer_node(source_image, ctx, path=str(tmp_path / "ramp.bmp"), rows=3, mode="rgb")
    assert info["out"].shape == (3, ramp.shape[1], 3)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"this is not a picture", "not an image"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "cannot read image file"),
    ],
)
def test_source_image_rejects_files_that_are_not_images(tmp_path, content, fragment):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    ctx = make_ctx("source.image", node_id="img")
    with pytest.raises(ParamError, match=fragment) as caught:
        infer_node(source_image, ctx, path=str(bad))
    assert caught.value.node_id == "img" and caught.value.port_or_param == "path"


def test_source_image_rejects_a_truncated_file_when_decoding(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)
    PILImage.fromarray(pixels).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ParamError, match=r"cannot read image file 'cut\.png'"):
        run_node(source_image, make_ctx("source.image"), path=str(tmp_path / "cut.png"))


# --------------------------------------------------------------------------- image.to_sound


@pytest.mark.parametrize("scale", ["log", "linear"])
@pytest.mark.parametrize("method", ["additive", "spectral"])
def test_one_bright_row_is_a_tone_at_that_rows_frequency(scale, method):
    rows, fmin, fmax = 64, 100.0, 8000.0
    ctx = make_ctx("image.to_sound")
    for row in (5, 30, 58):
        pixels = np.zeros((rows, 16), dtype=np.float32)
        pixels[row] = 1.0
        audio = run_node(
            to_sound,
            ctx,
            Image(pixels),
            method=method,
            scale=scale,
            fmin_hz=fmin,
            fmax_hz=fmax,
            duration_s=1.0,
            n_fft=8192,
        )
        expected = expected_row_hz(row, rows, fmin, fmax, scale)
        measured = peak_hz(audio.samples[0, 4410:-4410].astype(np.float64))
        tolerance = 0.01 if method == "additive" else 0.02
        assert measured == pytest.approx(expected, rel=tolerance), (row, measured, expected)
        if method == "additive":  # the sine bank is exact
            assert measured == pytest.approx(expected, rel=1e-3)


def test_a_diagonal_line_is_a_sweep_following_the_line():
    rows, cols, fmin, fmax = 100, 100, 200.0, 5000.0
    pixels = np.zeros((rows, cols), dtype=np.float32)
    for c in range(cols):
        pixels[rows - 1 - c, c] = 1.0  # bottom left to top right
    audio = run_node(
        to_sound,
        make_ctx("image.to_sound"),
        Image(pixels),
        fmin_hz=fmin,
        fmax_hz=fmax,
        duration_s=4.0,
    )
    x = audio.samples[0].astype(np.float64)
    spc = len(x) / cols
    worst = 0.0
    for c in range(10, cols - 10, 7):
        centre = int((c + 0.5) * spc)
        window = x[centre - 1024 : centre + 1024]
        expected = expected_row_hz(rows - 1 - c, rows, fmin, fmax, "log")
        worst = max(worst, abs(peak_hz(window) / expected - 1))
    assert worst < 0.02, worst


def test_the_sine_bank_matches_a_direct_sum_of_sines():
    rng = np.random.default_rng(3)
    pixels = rng.random((6, 5)).astype(np.float32)
    pixels[2] = 0.0
    frames, rows, cols = 2000, 6, 5
    audio = run_node(
        to_sound,
        make_ctx("image.to_sound"),
        Image(pixels),
        duration_s=frames / SR,
        range_db=40.0,
        peak_dbfs=None,
        seed=5,
    )
    # the same signal from numpy: exact phase n*f/sr + phi, amplitude interpolated
    # linearly between column centres and held outside them
    from nodes.image.mapping import row_frequencies

    freqs = row_frequencies(rows, 50.0, 12000.0, "log")
    amps = np.where(pixels > 0, 10 ** ((pixels - 1) * 40 / 20), 0.0)
    stream = np.random.SeedSequence(5).spawn(1)[0]
    phase0 = np.random.default_rng(int(stream.generate_state(1)[0])).random(rows)
    n = np.arange(frames)
    centres = (np.arange(cols) + 0.5) * frames / cols
    expected = sum(
        np.interp(n, centres, amps[r]) * np.sin(2 * np.pi * (n * freqs[r] / SR + phase0[r]))
        for r in range(rows)
    )
    np.testing.assert_allclose(audio.samples[0], expected, atol=2e-6)


def test_hard_column_edges_make_no_clicks():
    rows, cols, frames = 40, 20, 44100
    pixels = np.zeros((rows, cols), dtype=np.float32)
    pixels[:, ::2] = 1.0  # every other column fully on: hard edges everywhere
    pixels[::3] = 0.0
    audio = run_node(
        to_sound,
        make_ctx("image.to_sound"),
        Image(pixels),
        duration_s=frames / SR,
        peak_dbfs=None,
        fmin_hz=50.0,
        fmax_hz=400.0,
    )
    from nodes.image.mapping import row_frequencies

    lit = pixels.max(axis=1) > 0
    freqs = row_frequencies(rows, 50.0, 400.0, "log")[lit]
    # |x[n+1] - x[n]| <= sum over rows of (a * 2 pi f / sr + |slope of a|), with the
    # amplitude moving at most 1 over one column (frames / cols samples)
    bound = np.sum(2 * np.pi * freqs / SR) + lit.sum() * cols / frames
    jump = np.abs(np.diff(audio.samples[0].astype(np.float64))).max()
    assert jump <= bound * 1.001
    # a column-by-column switch (no interpolation) would jump far beyond the bound
    held = np.repeat(pixels[lit], frames // cols, axis=1)
    n = np.arange(held.shape[1])
    naive = np.sum(held * np.sin(2 * np.pi * np.outer(freqs, n) / SR + 1.0), axis=0)
    assert np.abs(np.diff(naive)).max() > 3 * bound


@pytest.mark.parametrize(("method", "minimum_r"), [("additive", 0.9), ("spectral", 0.9)])
def test_image_to_sound_to_image_round_trip(method, minimum_r):
    picture = drawing()
    axes = {"fmin_hz": 200.0, "fmax_hz": 8000.0, "range_db": 50.0}
    audio = run_node(
        to_sound,
        make_ctx("image.to_sound"),
        Image(picture),
        method=method,
        duration_s=4.0,
        **axes,
    )
    back = run_node(to_image, make_ctx("image.from_sound"), audio, rows=64, columns=128, **axes)
    r = np.corrcoef(back.pixels.ravel(), picture.ravel())[0, 1]
    assert r >= minimum_r, r


def test_spectral_griffin_lim_is_more_consistent_than_random_phase():
    from nodes.image.mapping import _stft
    from nodes.image.to_sound import spectral_magnitudes

    picture = drawing(64, 32)
    results = {}
    for phase in ("random", "griffin_lim"):
        audio = run_node(
            to_sound,
            make_ctx("image.to_sound"),
            Image(picture),
            method="spectral",
            phase=phase,
            iterations=40,
            duration_s=1.0,
            peak_dbfs=None,
            n_fft=1024,
        )
        sft = _stft(SR, 1024)
        got = np.abs(sft.stft(audio.samples[0].astype(np.float64)))
        want = spectral_magnitudes(picture, audio.frames, SR, sft, 50.0, 12000.0, "log", 60.0)
        results[phase] = np.linalg.norm(got - want) / np.linalg.norm(want)
    assert results["griffin_lim"] < 0.5 * results["random"], results


def test_griffin_lim_reports_its_iterations_as_progress():
    from pathlib import Path

    from graphengine.node import NodeContext

    seen: list[float] = []

    def emit(kind: str, data: dict) -> None:
        if kind == "node_progress":
            seen.append(data["fraction"])

    ctx = NodeContext("n", "image.to_sound", SR, Path("."), emit)
    run_node(
        to_sound,
        ctx,
        Image(drawing(32, 16)),
        method="spectral",
        phase="griffin_lim",
        iterations=8,
        duration_s=0.25,
        n_fft=512,
    )
    assert seen[:8] == [i / 8 for i in range(1, 9)] and seen == sorted(seen)


def test_stereo_from_colours_and_from_two_images():
    red = np.zeros((16, 8, 3), dtype=np.float32)
    red[4, :, 0] = 1.0  # a red row: left only
    red[10, :, 1] = 1.0  # a green row: right only
    ctx = make_ctx("image.to_sound")
    audio = run_node(to_sound, ctx, Image(red), stereo="colours", duration_s=0.5)
    assert audio.samples.shape == (2, 22050)
    from nodes.image.mapping import row_frequencies

    freqs = row_frequencies(16, 50.0, 12000.0, "log")
    assert peak_hz(audio.samples[0]) == pytest.approx(freqs[4], rel=1e-3)
    assert peak_hz(audio.samples[1]) == pytest.approx(freqs[10], rel=1e-3)
    left, right = red[..., 0], red[..., 1]
    two = run_node(to_sound, ctx, Image(left), Image(right), stereo="images", duration_s=0.5)
    np.testing.assert_allclose(two.samples, audio.samples, atol=1e-6)


def test_image_values_can_come_from_python_arrays():
    graph = ge.Graph(sample_rate=SR)
    graph.add("img", "source.image", path="unused.png")
    graph.add("snd", "image.to_sound", in_="img", duration_s=0.25)
    pixels = np.zeros((8, 4), dtype=np.float32)
    pixels[3] = 1.0
    result = graph.run(outputs=["snd"], cache=False, inputs={"img": Image(pixels)})
    assert result["snd"].samples.shape == (1, round(0.25 * SR))
    assert np.abs(result["snd"].samples).max() == pytest.approx(10 ** (-3 / 20), rel=1e-4)


def _image_info(shape):
    return {"in": PortInfo("image", shape)}


@pytest.mark.parametrize(
    ("inputs", "params", "error", "where", "fragment"),
    [
        (_image_info((8, 8)), {"pixels_per_s": 50000.0}, ParamError, "pixels_per_s", "absurd"),
        (_image_info((8, 8)), {"pixels_per_s": 1e-9}, ParamError, "pixels_per_s", "limit"),
        (_image_info((8, 100)), {"duration_s": 0.001}, ParamError, "duration_s", "too short"),
        (_image_info((0, 8)), {}, PortError, "in", "no pixels"),
        (_image_info((8, 0)), {}, PortError, "in", "no pixels"),
        (_image_info((8, 8)), {"stereo": "colours"}, PortError, "in", "colour image"),
        (_image_info((8, 8)), {"stereo": "images"}, PortError, "right", "right-channel"),
        (
            {"in": PortInfo("image", (8, 8)), "right": PortInfo("image", (8, 9))},
            {"stereo": "images"},
            PortError,
            "right",
            "same size",
        ),
        (
            {"in": PortInfo("image", (8, 8)), "right": PortInfo("image", (8, 8))},
            {},
            PortError,
            "right",
            "is connected",
        ),
    ],
)
def test_to_sound_rejects_bad_settings(inputs, params, error, where, fragment):
    ctx = make_ctx("image.to_sound", node_id="snd")
    with pytest.raises(error, match=fragment) as caught:
        infer_node(to_sound, ctx, inputs, **params)
    assert caught.value.node_id == "snd" and caught.value.port_or_param == where
    assert "image.to_sound" in str(caught.value)


@pytest.mark.parametrize(
    ("type_id", "params", "name", "message"),
    [
        (
            "image.to_sound",
            {"fmin_hz": 500.0, "fmax_hz": 400.0},
            "fmin_hz",
            "500 Hz is not below fmax_hz (400 Hz)",
        ),
        (
            "image.to_sound",
            {"fmin_hz": 300.0, "fmax_hz": 300.0},
            "fmin_hz",
            "300 Hz is not below fmax_hz (300 Hz)",
        ),
        ("image.to_sound", {"fmin_hz": 0.0}, "fmin_hz", "0 Hz is not above 0 Hz"),
        (
            "image.to_sound",
            {"fmax_hz": 30000.0},
            "fmax_hz",
            "30000 Hz is not below Nyquist (22050 Hz at 44100 Hz)",
        ),
        ("image.to_sound", {"pixels_per_s": 0.0}, "pixels_per_s", "0 is not above 0"),
        ("image.to_sound", {"method": "spectrall"}, "method", "is not one of additive, spectral"),
        ("image.to_sound", {"n_fft": 8}, "n_fft", "8 is out of range [16, 65536]"),
        (
            "image.from_sound",
            {"fmin_hz": 900.0, "fmax_hz": 800.0},
            "fmin_hz",
            "900 Hz is not below fmax_hz (800 Hz)",
        ),
        ("image.from_sound", {"scale": "bark"}, "scale", "'bark' is not one of log, mel, linear"),
        ("image.from_sound", {"pixels_per_s": -1.0}, "pixels_per_s", "-1 is not above 0"),
        ("source.image", {"mode": "cmyk"}, "mode", "'cmyk' is not one of gray, rgb"),
    ],
)
def test_image_rules_are_declared_and_checked_by_the_engine(
    tmp_path, type_id, params, name, message
):
    picture = str(tmp_path / "picture.png")
    PILImage.new("L", (8, 8)).save(picture)
    upstream = {}
    if type_id == "image.to_sound":
        upstream = {"src": {"type": "source.image", "path": picture}}
        params = {"in_": "src", **params}
    elif type_id == "image.from_sound":
        upstream = {"src": {"type": "source.tone", "duration_s": 0.1}}
        params = {"in_": "src", **params}
    else:
        params = {"path": picture, **params}
    error = validation_error(type_id, sample_rate=SR, upstream=upstream, **params)
    assert isinstance(error, ParamError) and message in error.message, error
    assert error.node_id == "n" and error.port_or_param == name and error.node_type == type_id


def test_from_sound_checks_nyquist_at_its_input_rate():
    tone = {"src": {"type": "source.tone", "duration_s": 0.1}}
    error = validation_error(
        "image.from_sound", sample_rate=16000.0, upstream=tone, in_="src", fmax_hz=9000.0
    )
    assert error.port_or_param == "fmax_hz" and error.node_id == "n"
    assert "9000 Hz is not below Nyquist (8000 Hz at 16000 Hz)" in error.message


def test_validation_names_the_node_for_a_file_that_is_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("not a png")
    graph = ge.Graph(sample_rate=SR)
    graph.add("img", "source.image", path=str(tmp_path / "notes.png"))
    graph.add("snd", "image.to_sound", in_="img", fmax_hz=22050.0)
    with pytest.raises(GraphError) as caught:
        graph.validate()
    message = str(caught.value)
    assert "img.path [source.image]" in message and "not an image" in message


# --------------------------------------------------------------------------- sound.to_image


def test_to_image_puts_a_tone_on_its_row_at_its_level():
    rows, fmin, fmax = 48, 100.0, 6000.0
    from nodes.image.mapping import row_frequencies

    freqs = row_frequencies(rows, fmin, fmax, "log")
    t = np.arange(int(SR)) / SR
    x = np.sin(2 * np.pi * freqs[10] * t) + 10 ** (-20 / 20) * np.sin(2 * np.pi * freqs[30] * t)
    picture = run_node(
        to_image,
        make_ctx("image.from_sound"),
        Audio(x.astype(np.float32), SR),
        rows=rows,
        columns=20,
        fmin_hz=fmin,
        fmax_hz=fmax,
        range_db=40.0,
    ).pixels
    middle = picture[:, 5:15]
    assert set(np.argsort(middle.mean(axis=1))[-2:]) == {10, 30}
    np.testing.assert_allclose(middle[10], 1.0, atol=0.02)
    np.testing.assert_allclose(middle[30], 1.0 - 20 / 40, atol=0.02)  # -20 dB of 40 dB
    others = np.delete(middle, [9, 10, 11, 29, 30, 31], axis=0)
    assert others.max() < 0.1  # a sine on a row leaves the other rows dark


def test_to_image_colours_put_left_in_red_and_right_in_green():
    t = np.arange(22050) / SR
    left = np.sin(2 * np.pi * 440 * t)
    stereo = Audio(np.stack([left, np.zeros_like(left)]).astype(np.float32), SR)
    picture = run_node(
        to_image, make_ctx("image.from_sound"), stereo, rows=32, columns=10, channels="colours"
    ).pixels
    assert picture.shape == (32, 10, 3)
    assert picture[..., 0].max() == pytest.approx(1.0) and picture[..., 1].max() == 0.0


def test_to_image_infer_shapes_and_errors():
    ctx = make_ctx("image.from_sound", node_id="pic")
    audio = {"in": PortInfo("audio", (2, 44100), sample_rate=SR)}
    assert infer_node(to_image, ctx, audio, rows=10, columns=7)["out"].shape == (10, 7)
    shape = infer_node(to_image, ctx, audio, rows=10, pixels_per_s=25.0, channels="colours")
    assert shape["out"].shape == (10, 25, 3)
    with pytest.raises(ParamError, match="more than one per sample") as caught:
        infer_node(to_image, ctx, audio, pixels_per_s=50000.0)
    assert caught.value.port_or_param == "pixels_per_s" and caught.value.node_id == "pic"
    with pytest.raises(PortError, match="no samples"):
        infer_node(to_image, ctx, {"in": PortInfo("audio", (1, 0), sample_rate=SR)})
