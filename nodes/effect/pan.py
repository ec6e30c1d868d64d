"""Pan: place a mono or stereo signal in a stereo field (streaming)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from graphengine.blocknode import StreamSpec
from graphengine.node import node, param
from nodes.channels.remix import Remix


@node("effect.pan", version=1)
class Pan(Remix):
    """Place a mono signal in the stereo field, or shift the balance of a stereo one.

    ``pan``: -1 is hard left, 0 the centre, 1 hard right. The constant-power
    law sets the angle ``theta = (pan + 1) * pi / 4`` and the gains
    ``cos(theta)`` (left) and ``sin(theta)`` (right), so the total power stays
    the same wherever the sound is placed. A mono input becomes stereo with
    those gains (each -3 dB at the centre). A stereo input keeps its two
    channels, scaled by ``sqrt(2) * cos(theta)`` and ``sqrt(2) * sin(theta)``:
    unchanged at the centre, one side silent at the extremes while the other
    rises by 3 dB. Inputs with more than two channels are an error. The output
    is stereo and as long as the input.

    Example
    -------
        left = {in = "src", pan = -0.5}
    """

    pan: float = param(0.0, range=(-1.0, 1.0), description="-1 hard left, 0 centre, 1 hard right")

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return 2

    def prepare(self, spec: StreamSpec) -> None:
        if spec.channels not in (1, 2):
            raise self.port_error(
                "in",
                f"pans mono or stereo audio, got {spec.channels} channels; "
                "mix them down with channels.mono or pick two with channels.split",
            )
        self._spec = spec
        theta = (self.pan + 1.0) * math.pi / 4.0
        # cos(pi / 2) is 6e-17, not 0: hard left or right must silence the other side
        left, right = (0.0 if abs(g) < 1e-12 else g for g in (math.cos(theta), math.sin(theta)))
        if spec.channels == 1:
            self._matrix = np.array([[left], [right]])
        else:
            self._matrix = math.sqrt(2.0) * np.array([[left, 0.0], [0.0, right]])

    def _kernel_with(self, out: np.ndarray) -> tuple[Callable, tuple]:
        from nodes.channels._kernels import remix_into

        return remix_into, (out, self._matrix)
