"""End to end in a real headless Chromium: `mmroute app` on a loopback port, a small KB, a question.

Needs Debian's chromium + chromium-driver (installed by .ci/run) and selenium; skipped otherwise.
The driver path is given explicitly, so selenium-manager never downloads anything.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import FILMS, start_app, write_jsonl

CHROMIUM = os.environ.get("MMROUTE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MMROUTE_CHROMEDRIVER", "/usr/bin/chromedriver")
HAS_PIPELINE = importlib.util.find_spec("mmroute.pipeline") is not None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()),
        reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
    ),
    pytest.mark.skipif(importlib.util.find_spec("selenium") is None, reason="needs selenium (pip install selenium)"),
]

STARTUP_S = 180
WAIT_S = 240


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from mmroute.indexer import Indexer
    from mmroute.kb import Home
    from mmroute.types import EncoderSpec

    root = tmp_path_factory.mktemp("e2e")
    home = root / "home"
    Indexer(Home(home)).index(
        "films",
        write_jsonl(root / "films.jsonl", FILMS),
        encoder=EncoderSpec("hashing", {"dim": 64}),
        description="films and directors",
    )
    Home(home).forget("films")
    proc, port = start_app(home, root / "app.log", {**os.environ, "HF_HUB_OFFLINE": "1"}, STARTUP_S)
    url = f"http://127.0.0.1:{port}"
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def browser(tmp_path: Path):  # noqa: ANN201
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1400,2000",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def _wait_text(driver, text: str, timeout: float = WAIT_S) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, poll_frequency=0.5).until(
        lambda d: text in d.find_element(By.TAG_NAME, "body").text, message=f"text {text!r} never appeared"
    )


def _open(driver, url: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, WAIT_S).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="stChatInput"]'))
    )


def test_browser_kb_page_lists_the_kb(app_url: str, browser, output_dir: Path) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    _open(browser, app_url)
    tab = WebDriverWait(browser, WAIT_S).until(
        EC.element_to_be_clickable((By.XPATH, "//*[@role='tab'][contains(., 'Knowledge bases')]"))
    )
    tab.click()
    _wait_text(browser, "Delete a knowledge base")
    _wait_text(browser, "films (text/paragraph, 3 items)")
    browser.save_screenshot(str(output_dir / "e2e_app_kbs.png"))


@pytest.mark.skipif(not HAS_PIPELINE, reason="mmroute.pipeline (the answering pipeline) is not in this checkout yet")
def test_browser_chat_answer_and_evidence(app_url: str, browser, output_dir: Path) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _open(browser, app_url)
    box = browser.find_element(By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]')
    box.send_keys("Who directed Inception?")
    box.send_keys(Keys.ENTER)
    _wait_text(browser, "Evidence (")
    _wait_text(browser, "verdict:")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Who directed Inception?" in body
    assert "films · score" in body  # an evidence card with its KB and score
    assert "Inception is a 2010 science fiction film" in body
    time.sleep(1)  # let the last element paint before the screenshot
    browser.save_screenshot(str(output_dir / "e2e_app.png"))
    assert (output_dir / "e2e_app.png").stat().st_size > 10_000
