"""source.file on real, damaged and odd files, rendered as a user renders them.

Each decoded length and its samples are checked against an independent
decode: the bytes of a WAV's data, or soundfile reading the whole file in one
call (the node reads block by block through libsndfile itself).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from support import run_cli

RATE = 22050


def _graph(folder: Path, name: str) -> None:
    text = f"""
sample_rate = {RATE}
[nodes.src]
type = "source.file"
path = "{name}"
[nodes.out]
type = "sink.npy"
in = "src"
path = "out.npy"
"""
    (folder / "g.toml").write_text(text)


def _render(folder: Path, name: str) -> tuple[np.ndarray, str]:
    """The samples (channels, frames) source.file gives for ``name``, and the CLI's stderr."""
    _graph(folder, name)
    done = run_cli("render", "g.toml", "--no-cache", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return np.load(folder / "out.npy"), done.stderr


def _decode_to_end(path: Path) -> np.ndarray:
    """Every frame libsndfile delivers in one read to the end (frames, channels).

    One call: soundfile's ``read`` seeks after each call, and a seek inside an
    MP3 moves libmpg123 to another place, so reading an MP3 block by block
    with it gives other samples.
    """
    return sf.read(path, dtype="float32", always_2d=True)[0]


def _tone(seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    x = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    return np.stack([x * (k + 1) / channels for k in range(channels)], axis=1)


def _warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: src [source.file]")]


def test_a_truncated_wav_is_read_as_it_holds_and_the_shortfall_is_said(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    sf.write(path, _tone(1.0, 2), RATE, subtype="PCM_16")
    whole = path.read_bytes()
    path.write_bytes(whole[:-1001])  # a copy that stopped early: the header still says 22050
    samples, stderr = _render(tmp_path, "cut.wav")

    data = np.frombuffer(whole[44:-1001][: (len(whole) - 44 - 1001) // 4 * 4], "<i2")
    expected = data.reshape(-1, 2).T / 32768.0
    assert samples.shape == expected.shape == (2, 21799)
    np.testing.assert_array_equal(samples, expected.astype(np.float32))
    [warning] = _warning_lines(stderr)
    assert "'cut.wav'" in warning and "21799" in warning and "22050" in warning


_MP3_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_RATES = (44100, 48000, 32000)


def _without_xing_frame(mp3: bytes) -> bytes:
    """An MPEG-1 layer III stream less its first frame, the Xing/Info frame holding the count.

    What is left is a VBR MP3 whose length the decoder can only estimate from
    the first frame's bit rate: a silent start makes the estimate far too long.
    """
    start = 0
    if mp3[:3] == b"ID3":
        start = 10 + int.from_bytes(bytes(b & 0x7F for b in mp3[6:10]), "big")
    header = mp3[start : start + 4]
    assert header[0] == 0xFF and header[1] & 0xFE == 0xFA, "an MPEG-1 layer III frame"
    kbps, rate = _MP3_KBPS[header[2] >> 4], _MP3_RATES[(header[2] >> 2) & 3]
    size = 144000 * kbps // rate + ((header[2] >> 1) & 1)
    assert (
        mp3[start : start + size].find(b"Xing") > 0 or mp3[start : start + size].find(b"Info") > 0
    )
    return mp3[:start] + mp3[start + size :]


def _vbr_mp3(path: Path) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(3 * 44100) / 44100
    loud = 0.4 * np.sin(2 * np.pi * 3000 * t) + 0.2 * rng.standard_normal(t.size)
    x = np.where(t < 1.0, 0.0, loud)  # a silent second: the first frames are small
    sf.write(path, x, 44100, format="MP3", bitrate_mode="VARIABLE", compression_level=0.0)
    path.write_bytes(_without_xing_frame(path.read_bytes()))


def test_an_mp3_without_a_length_header_is_read_as_decoded_not_padded(tmp_path: Path) -> None:
    path = tmp_path / "vbr.mp3"
    _vbr_mp3(path)
    estimate = sf.info(path).frames
    decoded = _decode_to_end(path)
    assert estimate > 2 * decoded.shape[0]  # the fixture does what it says
    samples, stderr = _render(tmp_path, "vbr.mp3")

    at_file_rate = samples.shape[1] * 44100 / RATE
    assert abs(at_file_rate - decoded.shape[0]) <= 2  # resampled 44.1 -> 22.05 kHz
    assert np.abs(samples[0, -RATE // 10 :]).max() > 0.1  # no zeros padded at the end
    warning = next(line for line in _warning_lines(stderr) if "header" in line)
    assert str(decoded.shape[0]) in warning and str(estimate) in warning


def test_a_truncated_flac_is_read_up_to_where_its_decoder_stops(tmp_path: Path) -> None:
    """soundfile's own read raises once the FLAC decoder loses sync; the node keeps what it got."""
    path = tmp_path / "cut.flac"
    sf.write(path, _tone(2.0), RATE, subtype="PCM_16")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) * 2 // 3])
    samples, stderr = _render(tmp_path, "cut.flac")

    assert 0 < samples.shape[1] < 2 * RATE
    np.testing.assert_allclose(samples[0], _tone(2.0)[: samples.shape[1], 0], atol=1 / 32768)
    warnings = _warning_lines(stderr)
    assert any(str(samples.shape[1]) in w and str(2 * RATE) in w for w in warnings), warnings
    assert any("lost sync" in w for w in warnings), warnings


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("a.ogg", {"format": "OGG", "subtype": "VORBIS"}), ("a.mp3", {"format": "MP3"})],
)
def test_compressed_files_give_every_frame_the_decoder_delivers(
    tmp_path: Path, name: str, kwargs: dict
) -> None:
    path = tmp_path / name
    sf.write(path, _tone(1.5, 2), RATE, **kwargs)
    samples, stderr = _render(tmp_path, name)
    decoded = _decode_to_end(path)
    assert samples.shape == decoded.T.shape
    np.testing.assert_allclose(samples, decoded.T, rtol=0, atol=2.0**-22)  # a float32 ulp or two
    assert _warning_lines(stderr) == []


def test_decoder_messages_are_warnings_of_the_node_not_raw_stderr(tmp_path: Path) -> None:
    """Two MP3s end to end: libmpg123 prints its own note on the Xing header to fd 2."""
    one = tmp_path / "one.mp3"
    sf.write(one, _tone(1.0), RATE, format="MP3", bitrate_mode="VARIABLE")
    (tmp_path / "two.mp3").write_bytes(one.read_bytes() * 2)
    _, stderr = _render(tmp_path, "two.mp3")
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert all(line.startswith(("warning: ", "g.toml: ")) for line in lines), lines
    notes = [line for line in _warning_lines(stderr) if "decoding 'two.mp3'" in line]
    assert notes and len(notes) == len(set(notes))  # said, and said once


def test_a_chained_ogg_says_that_only_its_first_stream_is_read(tmp_path: Path) -> None:
    """libsndfile stops at the end of the first of two Ogg files joined end to end."""
    first, second = tmp_path / "first.ogg", tmp_path / "second.ogg"
    sf.write(first, _tone(1.0), RATE, format="OGG")
    sf.write(second, _tone(0.5), RATE, format="OGG")
    (tmp_path / "both.ogg").write_bytes(first.read_bytes() + second.read_bytes())
    samples, stderr = _render(tmp_path, "both.ogg")
    assert samples.shape == _decode_to_end(tmp_path / "both.ogg").T.shape == (1, RATE)
    [warning] = _warning_lines(stderr)
    assert "2 Ogg streams joined end to end" in warning and str(RATE) in warning


def test_every_pcm16_value_reads_as_libsndfile_converts_it(tmp_path: Path) -> None:
    # PCM_16 is read as integers and scaled in the block copy; the reference
    # is libsndfile's own conversion to float, and the raw bytes scaled
    values = np.arange(-32768, 32768, dtype=np.int16)
    stereo = np.stack([values, values[::-1]], axis=1)
    sf.write(tmp_path / "all.wav", stereo, RATE, subtype="PCM_16")
    samples, _ = _render(tmp_path, "all.wav")
    np.testing.assert_array_equal(samples, _decode_to_end(tmp_path / "all.wav").T)
    np.testing.assert_array_equal(samples, stereo.T.astype(np.float32) / 32768)
