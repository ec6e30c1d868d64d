"""The article's wav_table: tones, chunks and file facts against numpy and soundfile."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from nodes.signal import wav_table


def test_make_simple_wav_is_the_sine_of_its_frequency():
    wave = wav_table.Wav_Signal(44100, 440.0, 1.0).make_simple_wav("sine")
    n = np.arange(44100)
    assert wave.dtype == np.float32 and wave.shape == (44100,)
    np.testing.assert_allclose(wave, np.sin(2 * np.pi * 440.0 * n / 44100), atol=1e-6)


def test_a_tone_written_to_a_file(tmp_path):
    path = wav_table.Wav_Signal(8000, "A4", 2.5).write(tmp_path / "tone.wav", "square", 0.5)
    samples, rate = sf.read(path, dtype="float32")
    assert rate == 8000 and samples.shape == (20000,)
    assert np.abs(samples).max() == pytest.approx(0.5, abs=1e-3)
    found = wav_table.analyze_wav(path)
    info = sf.info(str(path))
    assert found["sample_rate_hz"] == info.samplerate == 8000
    assert found["frames"] == info.frames and found["channels"] == info.channels == 1
    assert found["bit_depth"] == 16 and found["duration_s"] == 2.5


def test_split_gives_all_chunks_which_join_to_the_input(tmp_path):
    rng = np.random.default_rng(1)
    stereo = rng.uniform(-0.5, 0.5, (2, 25_000)).astype(np.float32)
    sf.write(tmp_path / "in.wav", stereo.T, 10_000, subtype="FLOAT")
    chunks = wav_table.split_single_wav_s(tmp_path / "in.wav", 1.0)
    assert [c.shape for c in chunks] == [(2, 10_000), (2, 10_000), (2, 5_000)]
    np.testing.assert_array_equal(np.concatenate(chunks, axis=1), stereo)
    mono = stereo[0]
    pieces = wav_table.split_single_wav_s(mono, 0.3, sample_rate=10_000)
    assert [p.shape for p in pieces] == [(3000,)] * 8 + [(1000,)]
    np.testing.assert_array_equal(np.concatenate(pieces), mono)
    with pytest.raises(ValueError, match="sample_rate"):
        wav_table.split_single_wav_s(mono, 0.3)
