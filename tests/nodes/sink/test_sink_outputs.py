"""Sinks driven as a user drives them (``graphengine render``): reproducible bytes, a full
disk said in words, repeated names refused, and nothing half-written left behind."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from nodes.sink.audio import WAV_SUBTYPES
from support import TONE_GRAPH, cli_env, private_mount_tool, run_cli

TONE = TONE_GRAPH


def _wav_sink(node_id: str, path: str, subtype: str) -> str:
    lines = [f"[nodes.{node_id}]", 'type = "sink.wav"', 'in = "osc"']
    return "\n".join([*lines, f'path = "{path}"', f'subtype = "{subtype}"', ""])


def _leftovers(folder: Path) -> list[str]:
    """Hidden files the engine may leave in ``folder``: temporaries and journals."""
    return sorted(p.name for p in folder.rglob(".*"))


def test_wavs_of_every_subtype_are_byte_identical_across_renders(tmp_path: Path) -> None:
    sinks = "".join(_wav_sink(f"w{k}", f"{s}.wav", s) for k, s in enumerate(WAV_SUBTYPES))
    (tmp_path / "g.toml").write_text(TONE.format(duration=0.25) + sinks)
    renders = []
    for attempt in range(2):
        if attempt:
            time.sleep(1.1)  # the PEAK chunk's timestamp counts seconds
        done = run_cli("render", "g.toml", "--no-cache", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        renders.append({s: (tmp_path / f"{s}.wav").read_bytes() for s in WAV_SUBTYPES})
    for subtype in WAV_SUBTYPES:
        assert renders[0][subtype] == renders[1][subtype], subtype
        assert b"PEAK" not in renders[0][subtype][:512]


FULL_DISK = """
set -e
mount -t tmpfs -o size=64k tmpfs "$1"
set +e
"$2" -m graphengine render g.toml --no-cache
echo "rc=$?"
ls -A "$1"
"""


@pytest.mark.parametrize(
    ("duration", "full_at"),
    [(4.0, "take.wav"), (2.0, "take.wav.graph.json")],
    ids=["the-audio-does-not-fit", "only-the-sidecar-does-not-fit"],
)
def test_a_full_disk_names_the_output_and_says_the_disk_is_full(
    tmp_path: Path, duration: float, full_at: str
) -> None:
    """A real full file system: a 64 KiB tmpfs in a private mount namespace (no root needed
    where user namespaces are allowed; skipped where they are not)."""
    tool = private_mount_tool()
    if tool is None:
        pytest.skip("no private mount namespace with tmpfs here (unshare --map-root-user)")
    small = tmp_path / "small"
    small.mkdir()
    # float samples at 8 kHz: 4 s are 128 kB, twice what the disk holds; 2 s fill it exactly
    graph = TONE.format(duration=duration) + _wav_sink("out", f"{small}/take.wav", "FLOAT")
    (tmp_path / "g.toml").write_text(graph)
    done = subprocess.run(
        [
            tool,
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            FULL_DISK,
            "sh",
            str(small),
            sys.executable,
        ],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "rc=1" in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "g.toml: out.path [sink.wav]" in done.stderr
    assert f"{small}/{full_at}:" in done.stderr and "the disk is full" in done.stderr
    assert "System error" not in done.stderr
    listing = done.stdout.split("rc=1", 1)[1].split()
    assert listing == [], f"left in the full folder: {listing}"


DUPLICATES = """
sample_rate = 8000
[nodes.osc]
type = "source.tone"
frequency = 440.0
duration_s = 0.5
[nodes.spec]
type = "spectral.stft"
in = "osc"
n_fft = 256
hop = 128
[nodes.rms]
type = "feature.rms"
in = "spec"
[nodes.a]
type = "feature.summary"
in = "rms"
stats = ["mean", "mean", "max"]
[nodes.out]
type = "{sink}"
in = "a"
path = "out/stats.{suffix}"
"""


@pytest.mark.parametrize("sink, suffix", [("sink.json", "json"), ("sink.csv", "csv")])
def test_repeated_vector_names_are_refused_at_validation_naming_the_node_and_the_name(
    tmp_path: Path, sink: str, suffix: str
) -> None:
    (tmp_path / "g.toml").write_text(DUPLICATES.format(sink=sink, suffix=suffix))
    done = run_cli("render", "g.toml", "--no-cache", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"g.toml: out.in [{sink}]: the vector names from a.out repeat:" in done.stderr
    assert "'rms_mean' (2 times)" in done.stderr and "rms_max" not in done.stderr
    out = tmp_path / "out"
    assert not (out / f"stats.{suffix}").exists()
    assert not out.exists() or _leftovers(out) == []
