"""Importing the node modules and running their checks loads no heavy libraries."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[2]


def test_infer_loads_no_scipy_signal_numba_librosa_or_soxr(tmp_path):
    wav = tmp_path / "in.wav"
    soundfile.write(wav, np.zeros((100, 2)), 48000)
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from graphengine.node import NodeContext, PortInfo
        from graphengine.registry import default_registry

        spec = default_registry().get

        def ctx(node_type):
            return NodeContext("n", node_type, 44100.0, Path("."))

        audio = PortInfo("audio", (2, 100), 44100.0)
        tone = {{"waveform": "saw", "frequency": 440.0, "duration_s": 1.0, "channels": 1}}
        checks = [
            (spec("source.tone"), {{}}, tone),
            (spec("source.noise"), {{}}, {{"color": "pink", "duration_s": 1.0, "channels": 1}}),
            (spec("source.file"), {{}}, {{"path": {str(wav)!r}, "mono": False}}),
            (spec("effect.gain"), {{"in": audio}}, {{"gain_db": 0.0}}),
            (spec("signal.mix"), {{"in": [audio, audio]}}, {{"gains": []}}),
            (spec("sink.wav"), {{"in": audio}}, {{"path": "/tmp/x.wav", "subtype": "PCM_16"}}),
            (spec("sink.npy"), {{"in": audio}}, {{"path": "/tmp/x.npy"}}),
        ]
        for node_spec, inputs, params in checks:
            if node_spec.infer is not None:  # sink.npy has none: validation runs no node code
                node_spec.infer(inputs, params, ctx(node_spec.type_id))
        heavy = [m for m in ("scipy.signal", "numba", "librosa", "soxr") if m in sys.modules]
        print(",".join(heavy))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
