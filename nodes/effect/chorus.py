"""effect.chorus: several voices of the signal, each delayed by an LFO-swept amount."""

from __future__ import annotations

from graphengine.node import node, param
from nodes.effect._modulation import (
    ModulatedDelay,
    centre_param,
    stereo_param,
    swing_param,
)


@node("effect.chorus", version=1)
class Chorus(ModulatedDelay):
    """Chorus: copies of the signal at slowly swept delays, blended with the dry signal.

    Voice k (k = 0 .. ``voices`` - 1) of channel c reads the input delayed
    by ``d(t) = delay_ms + depth_ms * lfo(rate_hz * t + phase)`` with the
    phase ``(phase_deg + c * stereo_phase_deg) / 360 + k / voices`` cycles:
    the voices' LFOs are spread evenly around the cycle, so their delays
    never line up. ``lfo`` is a sine or a triangle of peak 1 rising through
    0 at phase 0. The output is ``(1 - mix) * dry + mix * mean of the
    voices``; with ``feedback`` the voices' mean is also fed back into the
    delay line. Delays are read between samples by 4-point cubic Lagrange
    interpolation (exact for cubics: the delay curve is followed to a
    small fraction of a sample); delays below two frames are read at two.
    The output is as long as the input (what is still in the delay line
    at its end, at most ``delay_ms + depth_ms``, is cut). The per-sample
    loop is a numba kernel (``nodes/effect/_modulation_kernels.py``).

    Example
    -------
        ensemble = {in = "src", rate_hz = 0.8, depth_ms = 3.0, delay_ms = 15.0, voices = 3}
    """

    depth_ms: float = swing_param(2.0, 50.0)
    delay_ms: float = centre_param(12.0, 100.0)
    voices: int = param(3, range=(1, 8), description="delayed copies, LFO phases spread evenly")
    feedback: float = param(0.0, range=(-0.95, 0.95), description="share of the voices fed back")
    mix: float = param(0.5, range=(0.0, 1.0), description="wet share: 0 dry only, 1 wet only")
    stereo_phase_deg: float = stereo_param(90.0)


chorus = Chorus
