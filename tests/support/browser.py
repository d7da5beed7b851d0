"""Headless Chromium for the UI tests: Debian's ``chromium`` and ``chromedriver``, loopback only.

Selenium is given the driver's path so Selenium Manager never downloads a browser or a driver.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1400, 1000)


def chromium_flags(profile_dir: Path) -> list[str]:
    return [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--metrics-recording-only",
        "--password-store=basic",
        # Any host name other than the loopback address fails to resolve: the test reaches nothing else.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile_dir}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ]


def start_chromium(profile_dir: Path):
    """A Selenium driver for headless Chromium; fails (never skips) when Chromium is not installed."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"Chromium is required for this test but {', '.join(missing)} is missing: "
            "run `make system-packages` (Debian packages chromium and chromium-driver)."
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in chromium_flags(profile_dir):
        options.add_argument(flag)
    service = Service(
        executable_path=str(CHROMEDRIVER), log_output=str(profile_dir.parent / "chromedriver.log")
    )
    return webdriver.Chrome(service=service, options=options)
