"""Retake the README's screenshots from a running demo (`bash scripts/demo.sh` prints the login).

    .venv/bin/python scripts/readme_screenshots.py --base http://127.0.0.1:8000 \
        --username demo-admin --password '…' --data-dir ./data

Writes docs/images/big-screen.png (1920×1080) and console-overview.png. docs/images/certificate.png
is page one of a certificate PDF (`liveboard awards export … --certificates`) rendered with
`pdftoppm -png -r 60 -f 1 -l 1 FILE.pdf docs/images/certificate`."""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"
SLUG = "qcqh-xxxb-2026"


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--lang=zh-CN",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='liveboard-shots-')}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def loaded(driver: webdriver.Chrome, url: str, *, board: bool = False) -> None:
    driver.get(url)
    wait = WebDriverWait(driver, 30)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    if board:
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "1")
    time.sleep(1.5)  # the charts' first animation


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="demo-admin")
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)

    driver = browser()
    try:
        viewport(driver, 1920, 1080)
        loaded(driver, f"{args.base}/boards/{SLUG}?screen=1", board=True)
        driver.save_screenshot(str(IMAGES / "big-screen.png"))

        viewport(driver, 1440, 1100)
        loaded(driver, f"{args.base}/console/login")
        driver.find_element(By.ID, "username").send_keys(args.username)
        driver.find_element(By.ID, "password").send_keys(args.password)
        driver.find_element(By.ID, "login-submit").click()
        WebDriverWait(driver, 30).until(lambda d: "/console/login" not in d.current_url)
        loaded(driver, f"{args.base}/console/")
        driver.save_screenshot(str(IMAGES / "console-overview.png"))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
