"""synth.modal: modal synthesis of struck bars, bells and plates from tables of their modes.

A struck solid rings as a sum of its normal modes, each an exponentially
decaying sinusoid at its own frequency (Adrien 1991, "The missing link:
modal synthesis"). The modes' frequency ratios come from the physics of
each body:

- ``bar``: a uniform bar free at both ends (Euler-Bernoulli): ``f_n`` in
  proportion to ``x_n²``, the roots of ``cos x cosh x = 1`` (4.7300, 7.8532,
  10.9956, 14.1372, 17.2788, 20.4204), so 1 : 2.7565 : 5.4039 : 8.9330 :
  13.3443 : 18.6379 (Fletcher & Rossing 1998, *The Physics of Musical
  Instruments*, 2nd ed., §2.13); a glockenspiel bar.
- ``marimba``: a bar thinned under its middle so that its first overtones
  lie two octaves and three octaves and a major third above the
  fundamental, 1 : 4 : 10 (Fletcher & Rossing 1998, §19.2).
- ``bell``: the ideal partials of a tuned church bell, named for their
  intervals from the prime (Fletcher & Rossing 1998, ch. 21): hum 0.5,
  prime 1, tierce (minor third) 1.2, quint (fifth) 1.5, nominal (octave) 2,
  deciem (tenth) 2.5, undeciem (eleventh) 8/3, duodeciem (twelfth) 3,
  double octave 4. The note's frequency is the prime's.
- ``plate``: a circular plate clamped at its rim: ``f`` in proportion to
  ``λ²``, the roots of ``J_n(λ) I_n'(λ) = I_n(λ) J_n'(λ)`` (λ² = 10.2158,
  21.260, 34.877, 39.771, 51.030, 60.829, 69.666, 84.583, 89.104; Leissa
  1969, *Vibration of Plates*, NASA SP-160, table 2.1).

The gains of the modes are not from the literature: they are a plain
choice (falling with the mode number, the bell's tierce and nominal
strong) that a mallet's hardness then shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, Notes
from nodes.synth.voices import AMPLITUDE, CHANNELS, amplitudes, check_notes, infer_voice, schedule

MODE_TABLES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "bar": (
        (1.0, 2.7565, 5.4039, 8.9330, 13.3443, 18.6379),
        (1.0, 0.5, 0.35, 0.25, 0.18, 0.12),
    ),
    "marimba": ((1.0, 4.0, 10.0), (1.0, 0.25, 0.08)),
    "bell": (
        (0.5, 1.0, 1.2, 1.5, 2.0, 2.5, 8.0 / 3.0, 3.0, 4.0),
        (0.35, 0.5, 0.6, 0.25, 1.0, 0.3, 0.25, 0.2, 0.15),
    ),
    "plate": (
        tuple(
            round(x / 10.2158, 4)
            for x in (10.2158, 21.260, 34.877, 39.771, 51.030, 60.829, 69.666, 84.583, 89.104)
        ),
        (1.0, 0.7, 0.55, 0.5, 0.4, 0.35, 0.3, 0.25, 0.2),
    ),
}
"""Mode frequency ratios (to the note) and gains of each body."""
INSTRUMENTS = (*MODE_TABLES, "custom")


def mode_table(params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(ratios, gains) of the chosen instrument, or of the ``custom`` lists."""
    if params["instrument"] != "custom":
        ratios, gains = MODE_TABLES[params["instrument"]]
        return np.array(ratios), np.array(gains)
    ratios = np.asarray(params["ratios"], dtype=np.float64)
    gains = np.asarray(params["gains"] or [1.0] * ratios.size, dtype=np.float64)
    return ratios, gains


def infer_modal(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Audio of unknown length; a custom table needs ratios (> 0) and as many gains (or none)."""
    custom = params["instrument"] == "custom"
    for name in ("ratios", "gains"):
        if params[name] and not custom:
            message = f"is read only with instrument = custom (not {params['instrument']!r})"
            raise ctx.param_error(name, message)
    if custom:
        ratios, gains = params["ratios"], params["gains"]
        if not ratios:
            raise ctx.param_error("ratios", "instrument = custom needs the modes' ratios")
        if any(not r > 0 for r in ratios):
            raise ctx.param_error("ratios", f"every ratio must be above 0, got {ratios}")
        if gains and len(gains) != len(ratios):
            message = f"{len(gains)} gains for {len(ratios)} ratios (give one per mode, or none)"
            raise ctx.param_error("gains", message)
        if gains and not any(gains):
            raise ctx.param_error("gains", "at least one gain must be non-zero")
    return infer_voice(inputs, params, ctx)


def mallet_weights(ratios: np.ndarray, hardness: float) -> np.ndarray:
    """Spectrum of a half-sine force pulse lasting ``c / f`` at each mode, 1 at 0 Hz.

    ``|cos(pi r c) / (1 - (2 r c)^2)|`` with ``c = 0.5 - 0.45 hardness``
    (the contact lasts half a period of the note for the softest mallet, a
    twentieth for the hardest), the force pulse of a mallet on a bar
    (Chaigne & Doutaut 1997, JASA 101(1)).
    """
    x = ratios * (0.5 - 0.45 * hardness)
    denominator = 1.0 - (2.0 * x) ** 2
    near = np.abs(denominator) < 1e-9  # the removable singularity at 2x = 1: pi / 4
    safe = np.where(near, 1.0, denominator)
    return np.where(near, np.pi / 4.0, np.abs(np.cos(np.pi * x) / safe))


@node("synth.modal", version=1, infer=infer_modal)
def modal(
    in_: Notes,
    *,
    instrument: str = param("bar", choices=INSTRUMENTS, description="the mode table"),
    ratios: list[float] = param([], description="custom: mode frequencies / the note"),
    gains: list[float] = param([], description="custom: mode gains (empty: all 1)"),
    decay_s: float = param(
        2.0, unit="s", range=(0.01, 600.0), description="60 dB decay of the mode at the note"
    ),
    damping: float = param(
        1.0, range=(0.0, 4.0), description="mode k decays in decay_s / ratio_k ** damping"
    ),
    hardness: float = param(0.6, range=(0.0, 1.0), description="mallet: 0 soft to 1 hard"),
    amplitude: float = AMPLITUDE,
    release_ms: float | None = param(
        None, unit="ms", range=(1.0, 60_000.0), description="damping after the note (None: ring)"
    ),
    channels: int = CHANNELS,
    ctx: NodeContext,
) -> Audio:
    """Modal voices: struck bars, marimba bars, bells and plates as sums of decaying modes.

    Each note strikes a body whose modes (``instrument``: see the tables in
    the module's documentation, or ``custom`` ``ratios`` and ``gains``) sound
    at ``ratio * f`` Hz: a sine from phase 0 at the onset sample, decaying by
    60 dB in ``decay_s / ratio ** damping`` seconds (``damping`` 0: all
    alike; 1: in proportion to frequency, so the bell's hum outlasts the
    rest), weighted by its gain and by the spectrum of the mallet's force
    pulse (``hardness``: a soft mallet leaves the high modes quiet). Every
    mode is an exact complex phasor, so the mode of ratio 1 is at the
    note's frequency to rounding (``tests/nodes/synth/test_modal.py``
    measures it within 0.01 cent); modes at or above Nyquist are left out.
    The weights are scaled to sum to 1, so a note never peaks above
    ``amplitude * velocity``. The body rings until its slowest mode is 60 dB
    down; with ``release_ms`` the note's end damps every mode to 60 dB down
    over that time (a damper), otherwise the note's duration is ignored.
    The modes are a numba kernel (``_modal_kernels.py``).

    Example
    -------
        bells = {in = "melody", instrument = "bell", decay_s = 4.0, hardness = 0.8}
    """
    from nodes.synth._modal_kernels import render_modes

    check_notes(in_, ctx)
    rate = ctx.sample_rate
    table_ratios, table_gains = mode_table(
        {"instrument": instrument, "ratios": ratios, "gains": gains}
    )
    weights = table_gains * mallet_weights(table_ratios, hardness)
    frequencies = np.outer(in_.frequency_hz, table_ratios)
    audible = frequencies < rate / 2.0
    mode_gains = np.where(audible, weights[np.newaxis, :], 0.0)
    sums = np.sum(np.abs(mode_gains), axis=1, keepdims=True)
    mode_gains = mode_gains / np.where(sums > 0, sums, 1.0)
    mode_gains *= amplitudes(in_, amplitude)[:, np.newaxis]
    t60 = decay_s / table_ratios**damping
    radii = np.broadcast_to(10.0 ** (-3.0 / (t60 * rate)), frequencies.shape)
    ring = np.ceil(np.max(np.where(audible, t60[np.newaxis, :], 0.0), axis=1) * rate)
    plan = schedule(in_, 0, ctx)
    totals = np.maximum(ring.astype(np.int64), 1)
    gates = totals.copy()
    release_radii = radii
    if release_ms is not None:
        release = max(1, round(release_ms * rate / 1000.0))
        gates = np.minimum(plan.gates, totals)
        totals = np.minimum(totals, plan.gates + release)
        release_radii = np.minimum(radii, 10.0 ** (-3.0 / release))
    out = np.zeros(int(np.max(plan.starts + totals)), dtype=np.float32)
    render_modes(
        out,
        plan.starts,
        gates,
        totals,
        2.0 * np.pi * frequencies / rate,
        mode_gains,
        np.ascontiguousarray(radii),
        np.ascontiguousarray(release_radii),
    )
    samples = np.empty((channels, out.size), dtype=np.float32)
    samples[:] = out
    return Audio(samples, rate)
