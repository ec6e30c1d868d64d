"""effect.vibrato: pitch wobble from a modulated delay, wet only."""

from __future__ import annotations

from graphengine.node import node
from nodes.effect._modulation import (
    ModulatedDelay,
    centre_param,
    rate_param,
    swing_param,
)


@node("effect.vibrato", version=1)
class Vibrato(ModulatedDelay):
    """Vibrato: the signal read through a delay that the LFO sweeps, so its pitch wobbles.

    Channel c is the input delayed by ``d(t) = delay_ms + depth_ms *
    lfo(rate_hz * t + (phase_deg + c * stereo_phase_deg) / 360)`` (``lfo``:
    a sine or triangle of peak 1 rising through 0 at phase 0), with no dry
    signal. A changing delay shifts the pitch by the factor ``1 - d'(t)``:
    a sine LFO swings it by ``± 2 pi rate_hz depth_s`` (5 Hz and 0.5 ms:
    ±1.6 %, ±27 cents). Everything also arrives ``delay_ms`` late, the
    centre the swing needs. Delays are read by 4-point cubic Lagrange
    interpolation; delays below two frames are read at two. The output is
    as long as the input. The per-sample loop is a numba kernel
    (``nodes/effect/_modulation_kernels.py``).

    Example
    -------
        wobble = {in = "src", rate_hz = 5.0, depth_ms = 0.5, delay_ms = 1.0}
    """

    rate_hz: float = rate_param(5.0)
    depth_ms: float = swing_param(0.5, 20.0)
    delay_ms: float = centre_param(1.0, 40.0)


vibrato = Vibrato
