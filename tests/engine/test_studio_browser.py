"""The studio page in a real headless Chromium: click, play, try a value, save the file.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them
and sets ``GRAPHENGINE_REQUIRE_BROWSER=1``, so in CI a missing browser fails
instead of skipping). Screenshots of each step go to the test's tmp folder.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest
import soundfile as sf
from scipy import signal

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from graphengine.studio.server import running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
REQUIRED = os.environ.get("GRAPHENGINE_REQUIRE_BROWSER") == "1"
if not (CHROMIUM and DRIVER) and not REQUIRED:
    pytest.skip("no chromium and chromedriver here", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow

RATE = 22050
GRAPH = """\
format = 1
name = "studio-browser"
sample_rate = 22050

[nodes.tone]
type = "source.tone"
waveform = "saw"
frequency = 220.0
duration_s = 0.75

[nodes.lp]
type = "filter.biquad"
in = "tone"
mode = "lowpass"
cutoff_hz = 8000.0
{extra}
[nodes.out]
type = "sink.wav"
in = "{last}"
path = "out.wav"
"""
EXTRA = """
[nodes.quiet]
type = "effect.gain"
in = "lp"
gain_db = -12.0
"""


def write_graph(path: Path, *, extra: bool = False) -> None:
    text = GRAPH.replace("{extra}", EXTRA if extra else "")
    path.write_text(text.replace("{last}", "quiet" if extra else "lp"))


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=DRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


SPECTROGRAM = '#panel img[data-picture="spectrogram"]'
PLAYER = '#panel audio[data-port="out"]'


def src_of(driver, selector: str) -> str | None:
    """The ``src`` of the element ``selector`` picks, read in one script (the panel redraws)."""
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e && e.src;", selector
    )


def spectrogram_moved(driver, before_src: str) -> str | bool:
    """The spectrogram's URL once it differs from ``before_src`` and the picture has loaded."""
    return (
        driver.execute_script(
            "const i = document.querySelector(arguments[0]);"
            "return i && i.src !== arguments[1] && i.complete && i.naturalWidth > 0 && i.src;",
            SPECTROGRAM,
            before_src,
        )
        or False
    )


def type_value(driver, selector: str, text: str) -> bool:
    """Select the field's text and type ``text`` + Enter (found afresh: the panel redraws)."""
    field = driver.find_element(By.CSS_SELECTOR, selector)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.ENTER)
    return True


def high_share(url: str) -> float:
    """Fraction of the WAV's power above 2 kHz (Welch, scipy), fetched from the server."""
    with urllib.request.urlopen(url, timeout=30) as response:
        samples, rate = sf.read(io.BytesIO(response.read()), always_2d=True)
    freqs, power = signal.welch(samples.mean(axis=1), fs=rate, nperseg=2048)
    return float(power[freqs > 2000].sum() / power.sum())


def test_click_play_try_and_follow_a_save(browser, tmp_path: Path) -> None:
    graph = tmp_path / "g.toml"
    write_graph(graph)
    with running(graph) as url:
        wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))
        browser.get(url)
        node = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, 'g.node[data-node="lp"]'))
        assert browser.find_elements(By.CSS_SELECTOR, 'g.node[data-node="tone"] circle.port')
        node.click()
        audio = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, PLAYER))
        played = browser.execute_async_script(
            """
            const [audio, done] = arguments;
            const report = () => done({
              duration: audio.duration, time: audio.currentTime, paused: audio.paused,
              error: audio.error && audio.error.code});
            audio.play().then(() => setTimeout(report, 300), (e) => done({failed: String(e)}));
            """,
            audio,
        )
        assert "failed" not in played, played
        assert played["error"] is None and not played["paused"] and played["time"] > 0
        with urllib.request.urlopen(url + "api/state", timeout=30) as response:
            lp = json.load(response)["nodes"]["lp"]["values"][0]["audio"]
        assert lp["frames"] / lp["sample_rate"] == lp["duration_s"]
        assert played["duration"] == pytest.approx(lp["duration_s"], abs=1e-6)
        assert abs(lp["duration_s"] - 0.75) < 1 / RATE
        browser.save_screenshot(str(tmp_path / "1-clicked.png"))

        before_src = wait.until(lambda d: spectrogram_moved(d, ""))
        before_high = high_share(src_of(browser, PLAYER))
        wait.until(lambda d: type_value(d, 'input[data-param="lp.cutoff_hz"]', "400"))
        wait.until(lambda d: spectrogram_moved(d, before_src))
        assert high_share(src_of(browser, PLAYER)) < 0.1 * before_high
        status = browser.find_element(By.ID, "status").text
        assert "tried lp.cutoff_hz = 400" in status and "computed: lp" in status
        assert browser.find_elements(By.CSS_SELECTOR, "#panel tr.tried")
        assert graph.read_text().count("cutoff_hz = 8000.0") == 1  # the file is never written
        browser.save_screenshot(str(tmp_path / "2-tried.png"))

        write_graph(graph, extra=True)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'g.node[data-node="quiet"]'))
        assert "saved: g.toml" in browser.find_element(By.ID, "status").text
        browser.save_screenshot(str(tmp_path / "3-saved.png"))
        wait.until(lambda d: d.find_element(By.ID, "take-back-all").click() or True)
        wait.until(lambda d: "took back every tried value" in d.find_element(By.ID, "status").text)
        assert not browser.find_elements(By.CSS_SELECTOR, "#panel tr.tried")
        assert browser.execute_script("return document.getElementById('trials').hidden")

        graph.write_text(graph.read_text().replace("gain_db = -12.0", "gain_db = 99.0"))
        flagged = wait.until(
            lambda d: d.find_elements(By.CSS_SELECTOR, 'g.node.problem[data-node="quiet"]')
        )
        assert flagged and "gain_db" in browser.find_element(By.ID, "problems").text
        browser.save_screenshot(str(tmp_path / "4-error.png"))
    assert not (tmp_path / "out.wav").exists()
