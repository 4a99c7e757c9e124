"""`make test` on a fresh machine: the system packages the tests need are there, installed,
or the run stops with the one command that installs them (never a green run that skipped
the browser and PKCS#11 tests)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "system-packages"


def run(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=60,
                          env=os.environ | env, check=False)


def test_missing_packages_stop_the_run_with_the_install_command(tmp_path: Path) -> None:
    result = run(DVCID_CHROMIUM=str(tmp_path / "chromium"),
                 DVCID_SOFTHSM=str(tmp_path / "libsofthsm2.so"), DVCID_NO_INSTALL="1")
    assert result.returncode != 0
    assert "sudo apt-get install -y chromium softhsm2" in result.stderr


def test_a_missing_promtool_asks_for_debians_prometheus(tmp_path: Path) -> None:
    result = run(DVCID_CHROMIUM=str(tmp_path / "chromium"),
                 DVCID_SOFTHSM=str(tmp_path / "libsofthsm2.so"),
                 DVCID_PROMTOOL=str(tmp_path / "promtool"), DVCID_NO_INSTALL="1")
    assert result.returncode != 0
    assert "sudo apt-get install -y chromium softhsm2 prometheus" in result.stderr


def test_only_what_is_missing_is_named(tmp_path: Path) -> None:
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    result = run(DVCID_CHROMIUM=str(chromium), DVCID_SOFTHSM=str(tmp_path / "libsofthsm2.so"),
                 DVCID_NO_INSTALL="1")
    assert result.returncode != 0
    assert "sudo apt-get install -y softhsm2" in result.stderr


def test_the_test_target_checks_first() -> None:
    makefile = (ROOT / "Makefile").read_text()
    test_target = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert test_target.index("./.ci/system-packages") < test_target.index("pytest")


def test_tests_do_not_skip_for_a_missing_tool() -> None:
    # The browser and SoftHSM2 tests fail with the install command instead.
    for path in (ROOT / "tests" / "web" / "conftest.py",
                 ROOT / "dvcid" / "signer" / "tests" / "test_pkcs11_softhsm.py"):
        text = path.read_text()
        assert "skipif" not in text and "importorskip" not in text and "pytest.skip(" not in text
        assert "sudo apt-get install -y" in text
