"""source.image on pictures far larger than asked for: refused before decoding when the
pixels would not fit, decoded small when they do, Pillow's bomb warning said by the node."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from node_harness import make_ctx, run_node

from nodes.image.mapping import LUMA
from nodes.source.image import source_image
from support import cli_env, run_cli

PIL = pytest.importorskip("PIL.Image")

GRAPH = """
sample_rate = 8000
[nodes.img]
type = "source.image"
path = "{name}"
rows = 64
columns = 64
[nodes.out]
type = "sink.npy"
in = "img"
path = "out.npy"
"""

MEASURED = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "graphengine", "render", "g.toml", "--no-cache"],
                      capture_output=True, text=True)
sys.stderr.write(done.stderr)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(done.returncode, peak)
"""


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _big_png(path: Path, width: int, height: int, channels: int) -> None:
    """A PNG (8-bit grey or RGB) whose rows all rise from 0 to 255 left to right.

    Written row by row through zlib, so the test holds one row, not the picture.
    """
    ramp = np.linspace(0, 255, width).round().astype(np.uint8)
    row = b"\0" + np.repeat(ramp, channels).tobytes()  # filter type 0, then the pixels
    squeeze = zlib.compressobj(9)
    data = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data)
    path.write_bytes(png + _chunk(b"IEND", b""))


def _render_measured(folder: Path, name: str) -> tuple[int, int, str]:
    """Exit code, peak memory in bytes and stderr of ``graphengine render`` on GRAPH."""
    (folder / "g.toml").write_text(GRAPH.format(name=name))
    done = subprocess.run(
        [sys.executable, "-c", MEASURED],
        cwd=folder,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    code, peak = done.stdout.split()
    return int(code), int(peak), done.stderr


def test_a_png_too_big_to_decode_is_refused_before_decoding(tmp_path: Path) -> None:
    """12000 x 12000 RGB: 140 kB of file, 576 MB in Pillow, 6.4 GB in the old float path."""
    _big_png(tmp_path / "huge.png", 12000, 12000, 3)
    code, peak, stderr = _render_measured(tmp_path, "huge.png")
    assert code == 2, stderr  # a validation error: nothing ran
    assert "Traceback" not in stderr and "DecompressionBomb" not in stderr
    assert "g.toml: img.path [source.image]" in stderr
    assert "'huge.png'" in stderr and "12000x12000" in stderr and "512 MiB" in stderr
    assert peak < 400 * 2**20, f"{peak / 2**20:.0f} MiB: the pixels were decoded"
    assert not (tmp_path / "out.npy").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_memory_budget_also_bounds_decoding(tmp_path: Path) -> None:
    """3000 x 3000 grey takes 8.6 MiB to decode: refused under --memory-budget 4M."""
    _big_png(tmp_path / "big.png", 3000, 3000, 1)
    (tmp_path / "g.toml").write_text(GRAPH.format(name="big.png"))
    done = run_cli("render", "g.toml", "--memory-budget", "4M", "--no-cache", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "img.path [source.image]" in done.stderr and "3000x3000" in done.stderr
    assert "4 MiB of the memory budget" in done.stderr
    assert not (tmp_path / "out.npy").exists()
    assert run_cli("render", "g.toml", "--no-cache", cwd=tmp_path).returncode == 0


def test_a_large_png_asked_small_decodes_in_little_memory_and_warns_by_the_node(
    tmp_path: Path,
) -> None:
    """9500 x 9500 grey is over Pillow's bomb warning (89.5 megapixels) but fits the limit."""
    _big_png(tmp_path / "big.png", 9500, 9500, 1)
    code, peak, stderr = _render_measured(tmp_path, "big.png")
    assert code == 0, stderr
    assert "Traceback" not in stderr and "DecompressionBombWarning" not in stderr
    assert "warning: img [source.image]: 'big.png' has 90250000 pixels" in stderr
    assert peak < 600 * 2**20, f"{peak / 2**20:.0f} MiB for a 64 x 64 picture"
    pixels = np.load(tmp_path / "out.npy")
    assert pixels.shape == (64, 64)
    centres = (np.arange(64) + 0.5) / 64
    np.testing.assert_allclose(pixels[32, 2:-2], centres[2:-2], atol=0.01)


def _reference(path: Path, rows: int, columns: int) -> np.ndarray:
    """Grey pixels as before the shrinking: the full picture in float, then Lanczos."""
    rgba = np.asarray(PIL.open(path).convert("RGBA"), dtype=np.float32) / 255.0
    gray = (rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])) @ LUMA
    plane = PIL.fromarray(gray.astype(np.float32), mode="F")
    return np.asarray(plane.resize((columns, rows), PIL.Resampling.LANCZOS))


@pytest.mark.parametrize("name", ["smooth.png", "smooth.jpg"])
def test_shrinking_before_decoding_keeps_the_picture(tmp_path: Path, name: str) -> None:
    """A JPEG drafted at 1/8 scale and a PNG box-averaged first (with its alpha) match the
    full-size Lanczos resize of a smooth picture."""
    y, x = np.mgrid[0:1200, 0:1600] / 1200.0
    red, green = 0.5 + 0.4 * np.sin(3 * x), 0.5 + 0.4 * np.cos(2 * y)
    planes = [red, green, (x + y) / 2.4]
    if name.endswith(".png"):
        planes.append(0.3 + 0.7 * x / x.max())  # alpha: laid over white
    picture = np.rint(np.stack(planes, axis=2) * 255).astype(np.uint8)
    path = tmp_path / name
    PIL.fromarray(picture).save(path, quality=95)
    out = run_node(source_image, make_ctx("source.image"), path=str(path), rows=60, columns=80)
    assert out.pixels.shape == (60, 80)
    error = out.pixels[2:-2, 2:-2] - _reference(path, 60, 80)[2:-2, 2:-2]
    assert np.abs(error).max() < 0.01
