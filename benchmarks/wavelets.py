"""Wavelet benchmark: spectral.dwt / idwt speed, and denoise.wavelet on real speech.

1. Speed of the transform: ``spectral.dwt`` and ``spectral.idwt`` (PyWavelets
   inside) run through ``Graph.run(inputs=..., cache=False)``, against
   ``pywt.wavedec`` / ``pywt.waverec`` called directly and against the numba
   kernel that ``feature.wavelet_energy`` keeps (periodic Daubechies only),
   on 30 s of 44.1 kHz noise, 8 levels, best of ``REPEATS``. Also the
   reconstruction error of dwt -> idwt.

2. Denoising: real speech with white noise added at 5 dB SNR (three noise
   seeds, mean SNR gain in dB, time per second of audio). Tools: the engine's
   ``denoise.wavelet`` in several settings, scikit-image's
   ``restoration.denoise_wavelet`` (BayesShrink and VisuShrink, the same
   wavelet and levels) where it is installed, and the engine's STFT
   denoisers for context (``denoise.wiener`` and
   ``denoise.spectral_subtraction`` with minimum statistics).

The speech is real recordings of two speakers, the prompts of Debian's
``asterisk-core-sounds-en-wav`` (US English, Allison Smith) and
``asterisk-prompt-it-menardi-wav`` (Italian), 8 kHz 16-bit: the first
prompts in name order, concatenated to 30 s per speaker. They are fetched
once with ``apt-get download`` into ``$GRAPHENGINE_BENCH_DATA`` (default
``~/.cache/graphengine/bench``), never into the repository. Where that
fails, the speech-like signals of ``tests/speechlike.py`` stand in and the
script says so.

Run: ``python benchmarks/wavelets.py``
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import graphengine as ge  # noqa: E402
from benchmarks.timing import seconds_of  # noqa: E402

REPEATS = 5
SPEECH_S = 30.0
SEEDS = (0, 1, 2)
SPEAKERS = {
    "en (Allison)": ("asterisk-core-sounds-en-wav", "usr/share/asterisk/sounds/en_US_f_Allison"),
    "it (Menardi)": ("asterisk-prompt-it-menardi-wav", "usr/share/asterisk/sounds/it_IT_f_Menardi"),
}


def data_folder() -> Path:
    default = Path.home() / ".cache" / "graphengine" / "bench"
    return Path(os.environ.get("GRAPHENGINE_BENCH_DATA", default))


def fetch_package(package: str, folder: Path) -> Path:
    """The unpacked package's root, downloading it the first time."""
    target = folder / package
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            subprocess.run(
                ["apt-get", "download", package], cwd=scratch, check=True, capture_output=True
            )
            deb = next(Path(scratch).glob("*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    return target


def real_speech(seconds: float = SPEECH_S) -> tuple[dict[str, np.ndarray], float, str]:
    """Speaker name -> float64 mono speech at 8 kHz, and where it came from."""
    try:
        voices = {}
        for name, (package, folder) in SPEAKERS.items():
            root = fetch_package(package, data_folder()) / folder
            parts, total = [], 0
            for path in sorted(root.glob("*.wav")):
                samples, rate = sf.read(path, dtype="float64")
                if rate != 8000 or samples.ndim != 1:
                    continue
                parts.append(samples)
                total += samples.size
                if total >= seconds * rate:
                    break
            voices[name] = np.concatenate(parts)[: round(seconds * 8000)]
        return voices, 8000.0, "real speech (Debian asterisk prompts, 8 kHz)"
    except (OSError, subprocess.CalledProcessError, StopIteration) as error:
        from speechlike import HIGH, LOW, speech_like

        print(f"could not fetch the speech ({error}); using speech-like signals instead")
        voices = {"low": speech_like(seconds, 8000, LOW), "high": speech_like(seconds, 8000, HIGH)}
        return voices, 8000.0, "SYNTHETIC speech-like signals (tests/speechlike.py), 8 kHz"


def engine_node(type_id: str, audio: ge.Audio, **params) -> ge.Audio:
    g = ge.Graph(sample_rate=audio.sample_rate)
    g.add("src", "source.silence", duration_s=audio.duration_s, channels=audio.channels)
    g.add("n", type_id, in_="src", **params)
    return g.run(outputs=["n"], inputs={"src": audio}, cache=False)["n"]


def engine_value(graph_nodes: list[tuple[str, str, dict]], audio: ge.Audio, output: str):
    g = ge.Graph(sample_rate=audio.sample_rate)
    g.add("src", "source.silence", duration_s=audio.duration_s, channels=audio.channels)
    for node_id, type_id, params in graph_nodes:
        g.add(node_id, type_id, **params)
    return g.run(outputs=[output], inputs={"src": audio}, cache=False)[output]


# --------------------------------------------------------------------------- transform speed


def transform_table() -> None:
    import pywt

    from nodes.feature.wavelet import wavedec as numba_wavedec

    rate = 44100.0
    x = np.random.default_rng(0).uniform(-0.5, 0.5, round(30 * rate)).astype(np.float32)
    audio = ge.Audio(x, rate)
    x64 = x.astype(np.float64)
    from graphengine.node import NodeContext
    from nodes.spectral.wavelet import dwt, idwt

    ctx = NodeContext("n", "spectral.dwt", rate, None)
    print("\n1. transform: 30 s at 44.1 kHz, 8 levels (ms, best of 5)")
    header = (
        f"{'wavelet':8} {'mode':14} {'node dwt':>9} {'pywt dwt':>9} {'numba dwt':>10} "
        f"{'node idwt':>10} {'pywt idwt':>10} {'graph dwt':>10} {'max |err|':>10}"
    )
    print(header)
    for wavelet in ("haar", "db4", "db8", "sym8", "coif5", "db20"):
        for mode in ("symmetric", "periodization"):
            params = {"wavelet": wavelet, "levels": 8, "mode": mode}
            bands = dwt.spec.function(audio, ctx=ctx, **params)
            t_node = seconds_of(lambda p=params: dwt.spec.function(audio, ctx=ctx, **p), REPEATS)
            t_pywt = seconds_of(lambda w=wavelet, m=mode: pywt.wavedec(x64, w, m, 8), REPEATS)
            numba = "-"
            if mode == "periodization" and wavelet.startswith("db"):
                p = int(wavelet[2:])
                numba = f"{1e3 * seconds_of(lambda p=p: numba_wavedec(x64, p, 8), REPEATS):10.1f}"
            back = idwt.spec.function(bands, ctx=ctx, bands=[])
            t_back = seconds_of(lambda b=bands: idwt.spec.function(b, ctx=ctx, bands=[]), REPEATS)
            coeffs = pywt.wavedec(x64, wavelet, mode, 8)
            t_pyback = seconds_of(lambda c=coeffs, w=wavelet, m=mode: pywt.waverec(c, w, m))
            nodes = [("bands", "spectral.dwt", {"in_": "src", **params})]
            t_graph = seconds_of(lambda n=nodes: engine_value(n, audio, "bands"), REPEATS)
            err = float(np.max(np.abs(back.samples[0] - x)))
            print(
                f"{wavelet:8} {mode:14} {1e3 * t_node:9.1f} {1e3 * t_pywt:9.1f} {numba:>10} "
                f"{1e3 * t_back:10.1f} {1e3 * t_pyback:10.1f} {1e3 * t_graph:10.1f} {err:10.1e}"
            )
    print(
        "node: the node function on float32 audio (casts to float64, pywt inside); graph dwt: "
        "Graph.run with the audio as an input, uncached; numba: feature.wavelet_energy's kernel"
    )


# --------------------------------------------------------------------------- denoising


def snr_db(clean: np.ndarray, y: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean**2) / np.sum((y - clean) ** 2)))


def denoise_table() -> None:
    voices, rate, origin = real_speech()
    print(f"\n2. denoising {origin}, white noise at 5 dB SNR, {len(SEEDS)} noise seeds")
    try:
        from skimage.restoration import denoise_wavelet as skimage_denoise
    except ImportError:
        skimage_denoise = None
        print("scikit-image is not installed: its rows are left out")
    from nodes.denoise.wavelet import default_levels

    tools = {
        "engine default (bayes, local 50 ms, soft)": ("denoise.wavelet", {}),
        "engine bayes global (local_ms 0)": ("denoise.wavelet", {"local_ms": 0.0}),
        "engine bayes local, shifts 8": ("denoise.wavelet", {"shifts": 8}),
        "engine sure": ("denoise.wavelet", {"threshold": "sure"}),
        "engine universal soft": ("denoise.wavelet", {"threshold": "universal"}),
        "engine universal hard": (
            "denoise.wavelet",
            {"threshold": "universal", "thresholding": "hard"},
        ),
        "engine denoise.wiener (STFT)": ("denoise.wiener", {"n_fft": 256}),
        "engine spectral_subtraction (STFT)": ("denoise.spectral_subtraction", {"n_fft": 256}),
    }
    rows = []
    for speaker, clean in voices.items():
        levels = default_levels(clean.size, "sym8")
        noisy_sets = []
        for seed in SEEDS:
            noise = np.random.default_rng(seed).standard_normal(clean.size)
            noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2)) * 10 ** (-5 / 20)
            noisy_sets.append(clean + noise)
        measured = {}
        for name, (type_id, params) in tools.items():
            gains = []
            for noisy in noisy_sets:
                audio = ge.Audio(noisy, rate)
                out = engine_node(type_id, audio, **params).samples[0].astype(np.float64)
                gains.append(snr_db(clean, out) - snr_db(clean, noisy))
            audio = ge.Audio(noisy_sets[0], rate)
            t = seconds_of(lambda i=type_id, p=params, a=audio: engine_node(i, a, **p), 3)
            measured[name] = (float(np.mean(gains)), t)
        if skimage_denoise is not None:
            for method in ("BayesShrink", "VisuShrink"):
                gains = []
                for noisy in noisy_sets:
                    out = skimage_denoise(
                        noisy, wavelet="sym8", method=method, mode="soft", wavelet_levels=levels
                    )
                    gains.append(snr_db(clean, out) - snr_db(clean, noisy))
                t = seconds_of(
                    lambda m=method, n=noisy_sets[0], lv=levels: skimage_denoise(
                        n, wavelet="sym8", method=m, mode="soft", wavelet_levels=lv
                    ),
                    3,
                )
                measured[f"skimage denoise_wavelet {method} soft"] = (float(np.mean(gains)), t)
        rows.append((speaker, clean.size / rate, measured))
    reference = "engine default (bayes, local 50 ms, soft)"
    for speaker, seconds, measured in rows:
        print(f"\n{speaker}: {seconds:.1f} s")
        print(f"{'tool':44} {'SNR gain dB':>11} {'ms':>8} {'x realtime':>11} {'x engine':>9}")
        base = measured[reference][1]
        for name, (gain, t) in measured.items():
            print(f"{name:44} {gain:11.2f} {1e3 * t:8.1f} {seconds / t:11.0f} {t / base:9.2f}")


if __name__ == "__main__":
    import pywt

    print(f"PyWavelets {pywt.__version__}, graphengine {ge.__version__}")
    transform_table()
    denoise_table()
