"""Constant-Q and variable-Q transforms (librosa.vqt), on their own port type ``cqt``.

A constant-Q transform has bins spaced geometrically (``bins_per_octave``
per doubling of frequency) whose bandwidths grow with their frequency, so
each bin is one semitone (or a fraction of one) wide at every pitch: the
picture of music a keyboard player expects. Its bins are not those of an
STFT, so it travels as a :class:`graphengine.types.ConstantQ` that records
``fmin_hz`` and ``bins_per_octave``; ``sink.image`` draws it on a log
frequency axis and ``feature.chroma_cqt`` folds it into pitch classes.
"""

from __future__ import annotations

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, ConstantQ
from nodes.spectral.stft import WINDOWS, input_rate, spectrum_info

C1_HZ = 32.70319566257483
"""C1 (MIDI 24) in Hz, librosa's default lowest bin."""
WINDOW_BANDWIDTHS = {
    "hann": 1.50018310546875,
    "hamming": 1.3629455320350348,
    "blackman": 1.7269681554262326,
    "blackmanharris": 2.0045975283585014,
    "bartlett": 1.3334961334912805,
    "boxcar": 1.0,
}
"""Equivalent noise bandwidths in bins, as librosa.filters.window_bandwidth gives them."""
PAD_MODES = ("constant", "reflect", "edge")


def bin_frequencies(fmin_hz: float, n_bins: int, bins_per_octave: int) -> np.ndarray:
    return fmin_hz * 2.0 ** (np.arange(n_bins, dtype=np.float64) / bins_per_octave)


def filter_cutoff(
    freqs: np.ndarray, bins_per_octave: int, window: str, filter_scale: float, gamma: float
) -> float:
    """The highest frequency the filters reach (librosa.filters.wavelet_lengths' ``f_cutoff``)."""
    alpha = (2.0 ** (2.0 / bins_per_octave) - 1) / (2.0 ** (2.0 / bins_per_octave) + 1)
    q = filter_scale / alpha
    return float(np.max(freqs * (1 + 0.5 * WINDOW_BANDWIDTHS[window] / q) + 0.5 * gamma))


def frames_of(samples: int, hop: int) -> int:
    return 1 + samples // hop


def infer_cqt(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, n_bins, 1 + samples // hop); every filter must stay below Nyquist."""
    info = spectrum_info(inputs)
    rate = input_rate(info, ctx)
    bpo = params["bins_per_octave"]
    # an estimated tuning moves every bin by at most half a bin: check the worst case
    tuning = 0.5 if params["tuning"] is None else params["tuning"]
    fmin = params["fmin_hz"] * 2.0 ** (tuning / bpo)
    freqs = bin_frequencies(fmin, params["n_bins"], bpo)
    cutoff = filter_cutoff(freqs, bpo, params["window"], params["filter_scale"], params["gamma_hz"])
    if cutoff > rate / 2:
        raise ctx.param_error(
            "n_bins",
            f"the top bin ({freqs[-1]:.1f} Hz) has filters reaching {cutoff:.1f} Hz, above "
            f"Nyquist ({rate / 2:g} Hz): use fewer bins or a lower fmin_hz",
        )
    shape = None
    if info is not None and info.shape is not None:
        shape = (info.shape[0], params["n_bins"], frames_of(info.shape[1], params["hop"]))
    return {"out": PortInfo("cqt", shape, sample_rate=rate, itemsize=8)}


@node("spectral.cqt", version=1, infer=infer_cqt)
def cqt(
    in_: Audio,
    *,
    hop: int = param(512, range=(1, None), description="samples between frames"),
    fmin_hz: float = param(C1_HZ, unit="Hz", above=0, description="lowest bin (default C1)"),
    n_bins: int = param(84, range=(1, 2048), description="number of bins"),
    bins_per_octave: int = param(12, range=(1, 480), description="bins per octave"),
    tuning: float | None = param(
        0.0, range=(-0.5, None), below=0.5, description="offset in bins (None: estimate)"
    ),
    filter_scale: float = param(1.0, above=0, description="filter length factor"),
    gamma_hz: float = param(0.0, unit="Hz", range=(0, None), description="VQT bandwidth offset"),
    norm: str = param("1", choices=("1", "2", "inf", "none"), description="filter normalisation"),
    sparsity: float = param(0.01, range=(0, 1), below=1, description="basis energy dropped"),
    window: str = param("hann", choices=WINDOWS, description="filter window"),
    scale: bool = param(True, description="divide each bin by sqrt(filter length)"),
    pad_mode: str = param("constant", choices=PAD_MODES, description="padding of the frames"),
    ctx: NodeContext,
) -> ConstantQ:
    """Constant-Q transform of every channel: librosa.vqt (librosa.cqt when gamma_hz = 0).

    ``n_bins`` bins from ``fmin_hz`` up, ``bins_per_octave`` per octave, bin k
    at ``fmin_hz * 2 ** ((k + tuning) / bins_per_octave)`` Hz; frames ``hop``
    samples apart, centred, ``1 + samples // hop`` of them. Each bin is a
    windowed complex sinusoid ``filter_scale`` times Q cycles long;
    ``gamma_hz`` > 0 widens the low bins (a variable-Q transform, shorter
    filters, better time resolution in the bass). The signal is
    halved in rate (soxr) for each lower octave while ``hop`` stays even, as
    librosa does, so the output is librosa's itself. With ``tuning = None``
    one tuning is estimated from the channels' mean (librosa.estimate_tuning)
    and used for all. The filters must stay below Nyquist, which validation
    checks. The output is a ``cqt`` value (complex64, bins geometrically
    spaced, recording the tuned ``fmin_hz``).

    Example
    -------
        cq = {in = "src", n_bins = 84, bins_per_octave = 12, hop = 512}
    """
    import librosa

    norm_value = {"1": 1, "2": 2, "inf": np.inf, "none": None}[norm]
    tune = tuning
    if tune is None:
        mono = in_.samples.mean(axis=0)
        tune = float(
            librosa.estimate_tuning(y=mono, sr=in_.sample_rate, bins_per_octave=bins_per_octave)
        )
    rows = []
    for channel in in_.samples:
        rows.append(
            librosa.vqt(
                channel,
                sr=in_.sample_rate,
                hop_length=hop,
                fmin=fmin_hz,
                n_bins=n_bins,
                gamma=gamma_hz,
                bins_per_octave=bins_per_octave,
                tuning=tune,
                filter_scale=filter_scale,
                norm=norm_value,
                sparsity=sparsity,
                window=window,
                scale=scale,
                pad_mode=pad_mode,
                res_type="soxr_hq",
                dtype=np.complex64,
            )
        )
    fmin_tuned = fmin_hz * 2.0 ** (tune / bins_per_octave)
    return ConstantQ(np.stack(rows), hop, in_.sample_rate, fmin_tuned, bins_per_octave)
