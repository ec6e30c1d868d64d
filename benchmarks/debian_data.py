"""Real recordings for the benchmarks, from Debian packages, kept outside the repository.

``package_root("drascula-music")`` downloads the package with ``apt-get
download`` the first time, unpacks it with ``dpkg-deb -x`` into the data
folder (``$GRAPHENGINE_BENCH_DATA``, default ``~/.cache/graphengine/bench``)
and returns the folder its files were unpacked into.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path


def data_folder() -> Path:
    default = Path.home() / ".cache" / "graphengine" / "bench"
    return Path(os.environ.get("GRAPHENGINE_BENCH_DATA", default))


def package_root(package: str, folder: Path | None = None) -> Path:
    """Where ``package``'s files lie, unpacked (fetched and unpacked the first time)."""
    root = (folder or data_folder()) / package
    if not root.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root.parent) as scratch:
            subprocess.run(
                ["apt-get", "download", package], cwd=scratch, check=True, capture_output=True
            )
            deb = next(Path(scratch).glob(f"{package}_*.deb"))
            unpacked = Path(scratch) / "root"
            subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
            unpacked.rename(root)  # whole, or not at all
    return root
