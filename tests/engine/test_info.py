"""``graphengine info`` agrees with soundfile.info() and with numpy levels of the same samples."""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from graphengine import cli, info

RATE = 44100
# (file name, format, subtype, rate, bits per sample per libsndfile's documentation or None)
FORMATS = [
    ("pcm16.wav", "WAV", "PCM_16", RATE, 16),
    ("pcm24.wav", "WAV", "PCM_24", RATE, 24),
    ("pcm32.wav", "WAV", "PCM_32", RATE, 32),
    ("u8.wav", "WAV", "PCM_U8", RATE, 8),
    ("float.wav", "WAV", "FLOAT", RATE, 32),
    ("double.wav", "WAV", "DOUBLE", RATE, 64),
    ("pcm16.aiff", "AIFF", "PCM_16", RATE, 16),
    ("pcm24.flac", "FLAC", "PCM_24", RATE, 24),
    ("pcm16.flac", "FLAC", "PCM_16", RATE, 16),
    ("vorbis.ogg", "OGG", "VORBIS", RATE, None),
    ("opus.ogg", "OGG", "OPUS", 48000, None),
    ("layer3.mp3", "MP3", "MPEG_LAYER_III", RATE, None),
]
WRITABLE = [f for f in FORMATS if sf.check_format(f[1], f[2])]


def _signal(rate: int, seconds: float = 1.5) -> np.ndarray:
    """Stereo (frames, 2): sines at 440 Hz (0.5) and 660 Hz (0.25), with a burst of clipping."""
    t = np.arange(int(seconds * rate)) / rate
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    right = 0.25 * np.sin(2 * np.pi * 660 * t)
    left[1000:1010] = 1.0  # ten samples at positive full scale
    right[2000:2005] = -1.0  # five at negative full scale
    return np.stack([left, right], axis=1)


def _clipped_reference(path: Path, subtype: str) -> int:
    """Samples at the extreme integer codes (read as int32 by libsndfile), or |x| >= 1 for float."""
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "PCM_U8": 8}.get(subtype)
    if bits is None:
        samples, _ = sf.read(path, dtype="float64", always_2d=True)
        return int(np.count_nonzero(np.abs(samples) >= 1.0))
    codes, _ = sf.read(path, dtype="int32", always_2d=True)
    top = 2**31 - 2 ** (32 - bits)
    return int(np.count_nonzero((codes == top) | (codes == -(2**31))))


@pytest.mark.parametrize("name, fmt, subtype, rate, bits", WRITABLE, ids=[f[0] for f in WRITABLE])
def test_info_agrees_with_soundfile_and_numpy(
    tmp_path: Path, name: str, fmt: str, subtype: str, rate: int, bits: int | None
) -> None:
    path = tmp_path / name
    sf.write(path, _signal(rate), rate, format=fmt, subtype=subtype)
    reference = sf.info(str(path))
    got = info.file_info(path)
    assert got["sample_rate_hz"] == reference.samplerate == rate
    assert got["channels"] == reference.channels == 2
    assert got["frames"] == reference.frames
    assert got["duration_s"] == pytest.approx(reference.duration, rel=1e-12)
    assert (
        (got["format"], got["subtype"]) == (reference.format, reference.subtype) == (fmt, subtype)
    )
    assert got["subtype_info"] == reference.subtype_info
    assert got["bit_depth"] == bits
    samples, _ = sf.read(path, dtype="float64", always_2d=True)
    assert got["frames_read"] == samples.shape[0]
    peak = np.abs(samples).max()
    rms = np.sqrt(np.mean(samples**2))
    assert got["peak_dbfs"] == pytest.approx(20 * np.log10(peak), abs=1e-9)
    assert got["rms_dbfs"] == pytest.approx(20 * np.log10(rms), abs=1e-9)
    per_channel = 20 * np.log10(np.sqrt(np.mean(samples**2, axis=0)))
    np.testing.assert_allclose(got["channel_rms_dbfs"], per_channel, atol=1e-9)
    np.testing.assert_allclose(
        got["channel_peak_dbfs"], 20 * np.log10(np.abs(samples).max(axis=0)), atol=1e-9
    )
    assert got["clipped_samples"] == _clipped_reference(path, subtype)
    if bits is not None and subtype not in ("FLOAT", "DOUBLE"):
        assert got["clipped_samples"] >= 15  # the burst survives integer coding


@pytest.mark.skipif(not sf.check_format("MP3"), reason="this libsndfile writes no MP3")
@pytest.mark.parametrize("block_frames", [1, 1000, 4096])
def test_levels_do_not_depend_on_the_block_size(tmp_path: Path, block_frames: int) -> None:
    """MP3 too, whose decoder in libsndfile 1.2 garbles reads that split MPEG frames."""
    path = tmp_path / "a.mp3"
    sf.write(path, _signal(RATE, 3.0), RATE, format="MP3")
    whole, _ = sf.read(path, dtype="float64", always_2d=True)
    got = info.file_info(path, block_frames=block_frames)
    assert got["frames_read"] == whole.shape[0]
    assert got["rms_dbfs"] == pytest.approx(20 * np.log10(np.sqrt(np.mean(whole**2))), abs=1e-9)
    assert got["peak"] == np.abs(whole).max()


def test_a_float_file_counts_samples_beyond_full_scale(tmp_path: Path) -> None:
    samples = np.zeros((1000, 1))
    samples[10:13, 0] = [1.5, -2.0, 1.0]
    samples[20, 0] = 0.999
    sf.write(tmp_path / "hot.wav", samples, 8000, subtype="FLOAT")
    got = info.file_info(tmp_path / "hot.wav")
    assert got["clipped_samples"] == 3
    assert got["peak_dbfs"] == pytest.approx(20 * math.log10(2.0), abs=1e-6)


def test_silence_is_minus_infinity_and_json_null(tmp_path: Path, capsys) -> None:
    sf.write(tmp_path / "quiet.wav", np.zeros((100, 1)), 8000)
    assert info.file_info(tmp_path / "quiet.wav")["peak_dbfs"] == -math.inf
    assert cli.main(["info", "--json", str(tmp_path / "quiet.wav")]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["peak_dbfs"] is None and record["rms_dbfs"] is None


def test_a_long_file_is_read_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    minute = 60 * 48000
    with sf.SoundFile(path, "w", 48000, 2, subtype="FLOAT") as handle:
        block = (0.1 * np.ones((48000, 2))).astype(np.float32)
        for _ in range(60):
            handle.write(block)
    whole = minute * 2 * 8  # bytes as float64 if it were read at once
    tracemalloc.start()
    try:
        got = info.file_info(path)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got["frames_read"] == minute
    assert got["rms_dbfs"] == pytest.approx(20 * math.log10(0.1), abs=1e-5)
    assert peak_bytes < whole / 8, f"{peak_bytes} bytes traced for a {whole}-byte signal"


def test_cli_reports_every_file_and_fails_for_the_unreadable_ones(tmp_path: Path, capsys) -> None:
    good = tmp_path / "good.flac"
    sf.write(good, _signal(RATE), RATE, subtype="PCM_16")
    (tmp_path / "notes.txt").write_text("not audio")
    names = [str(good), str(tmp_path / "missing.wav"), str(tmp_path / "notes.txt"), str(tmp_path)]
    assert cli.main(["info", *names]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"{good}\n") and "sample rate  44100 Hz" in out
    assert "Signed 16 bit PCM [PCM_16], 16 bit" in out and "clipped      15 samples" in out
    assert f"error: {tmp_path / 'missing.wav'}: no such file" in err
    assert f"error: {tmp_path / 'notes.txt'}: cannot read it as audio" in err
    assert f"error: {tmp_path}: is a folder" in err
    assert "Traceback" not in err
    assert cli.main(["info", "--json", *names]) == 2
    records = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in records] == names
    assert records[0]["channels"] == 2 and all("error" in r for r in records[1:])
    assert cli.main(["info", str(good)]) == 0
