"""No known-vulnerable dependency (issue #11): the lock file, pip-audit over it, npm audit.

``requirements.lock`` pins every runtime dependency (all platforms, with hashes); it is what
pip-audit audits, so it must cover ``pyproject.toml`` and match what the tests run on. The audits
need a vulnerability database on the network (PyPI's per-release JSON or OSV for Python, the npm
registry's bulk advisory endpoint for the frontend): where none answers, they skip and say so.
CI runs the same audits as workflow steps, where the network is there.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
FRONTEND = ROOT / "frontend"
PROBE_TIMEOUT = 10.0
_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: Marker | None
    hashes: int

    def applies_here(self) -> bool:
        return self.marker is None or self.marker.evaluate()


def read_lock(path: Path = LOCK) -> dict[str, Pin]:
    """The pins of a ``uv pip compile --generate-hashes`` file, by canonical name."""
    pins: dict[str, Pin] = {}
    current: tuple[str, str, Marker | None] | None = None
    hashes = 0
    for line in [*path.read_text("utf-8").splitlines(), "end==0"]:
        stripped = line.strip()
        if stripped.startswith("--hash="):
            hashes += 1
            continue
        match = _PIN.match(stripped)
        if match is None:
            continue
        if current is not None:
            name, version, marker = current
            pins[name] = Pin(name, version, marker, hashes)
        marker_text = match["marker"]
        current = (canonicalize_name(match["name"]), match["version"], Marker(marker_text) if marker_text else None)
        hashes = 0
    return pins


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    pins = read_lock()
    assert pins, "requirements.lock has no pins"
    for requirement in runtime_requirements():
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} (pyproject.toml) is not in requirements.lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"requirements.lock pins {pin.name}=={pin.version}, outside pyproject's {requirement}"
        )
    unhashed = sorted(pin.name for pin in pins.values() if pin.hashes == 0)
    assert not unhashed, f"pins without --hash: {unhashed}"


def unlocked_dependencies(pins: dict[str, Pin]) -> tuple[list[str], int]:
    """Requirements of locked packages (installed here at the locked version) that the lock lacks.

    Only packages installed at exactly the locked version say what that version needs; a newer
    release installed by ``pip install -e '.[test]'`` may need other things, so it is not read.
    """
    wrong: list[str] = []
    checked = 0
    for pin in pins.values():
        if not pin.applies_here():
            continue
        try:
            if metadata.version(pin.name) != pin.version:
                continue
            requires = metadata.requires(pin.name) or []
        except metadata.PackageNotFoundError:
            continue
        checked += 1
        for text in requires:
            needed = Requirement(text)
            if needed.marker is not None and not needed.marker.evaluate({"extra": ""}):
                continue
            if canonicalize_name(needed.name) not in pins:
                wrong.append(f"{pin.name} needs {needed.name}, which requirements.lock lacks")
    return wrong, checked


def test_the_lock_holds_every_dependency_of_its_pins() -> None:
    """A lock missing a transitive dependency would install unaudited code (Dockerfile, CI)."""
    wrong, checked = unlocked_dependencies(read_lock())
    assert checked, "no locked package is installed at its locked version; regenerate requirements.lock"
    assert not wrong, (
        "regenerate the lock (uv pip compile pyproject.toml --universal --generate-hashes -o requirements.lock):\n"
        + "\n".join(wrong)
    )


def _answers(method: str, url: str, body: object | None, key: str | None = None) -> bool:
    """True if ``url`` answers 200 with a JSON object (containing ``key``, if given)."""
    try:
        response = httpx.request(method, url, json=body, timeout=PROBE_TIMEOUT)
        answer = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(answer, dict) and (key is None or key in answer)


def vulnerability_service(pins: dict[str, Pin]) -> str | None:
    """The pip-audit service that works from here: PyPI's per-release JSON API, else OSV."""
    probe = pins.get("pyjwt") or next(iter(pins.values()))
    if _answers("GET", f"https://pypi.org/pypi/{probe.name}/{probe.version}/json", None, "vulnerabilities"):
        return "pypi"
    osv_query = {"package": {"name": probe.name, "ecosystem": "PyPI"}, "version": probe.version}
    if _answers("POST", "https://api.osv.dev/v1/query", osv_query):
        return "osv"
    return None


def test_pip_audit_finds_no_known_vulnerability_in_the_lock() -> None:
    pytest.importorskip("pip_audit", reason="pip-audit is a test dependency: pip install -e '.[test]'")
    service = vulnerability_service(read_lock())
    if service is None:
        pytest.skip(
            "no vulnerability database reachable from here (pypi.org/pypi/NAME/VERSION/json and "
            "api.osv.dev both failed); CI runs pip-audit as a workflow step"
        )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(LOCK),
            "--strict",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--vulnerability-service",
            service,
            "--timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"pip-audit ({service}) failed:\n{result.stdout}\n{result.stderr}"


def pypi_latest_release_findings(pins: dict[str, Pin]) -> tuple[dict[str, list[str]], list[str]] | None:
    """PyPI's advisories for each pin that is its project's newest release; None if PyPI is unreachable.

    The project JSON (``/pypi/NAME/json``) answers here even where the per-release JSON does not;
    its ``vulnerabilities`` are those of the newest release, so only pins at the newest release
    can be checked this way. Returns the advisories found and the pins that could not be checked.
    """
    found: dict[str, list[str]] = {}
    unchecked: list[str] = []
    with httpx.Client(timeout=PROBE_TIMEOUT) as http:
        for pin in pins.values():
            try:
                answer = http.get(f"https://pypi.org/pypi/{pin.name}/json")
                project = answer.json() if answer.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                return None
            if not isinstance(project, dict):
                return None
            if project.get("info", {}).get("version") != pin.version:
                unchecked.append(f"{pin.name}=={pin.version}")
                continue
            advisories = [
                str(item.get("id")) for item in project.get("vulnerabilities") or [] if not item.get("withdrawn")
            ]
            if advisories:
                found[f"{pin.name}=={pin.version}"] = advisories
    return found, unchecked


def test_pypi_knows_no_vulnerability_in_the_locked_newest_releases() -> None:
    """Where pip-audit's services are out of reach, PyPI's own advisories still cover most pins."""
    result = pypi_latest_release_findings(read_lock())
    if result is None:
        pytest.skip("pypi.org's project JSON does not answer here; CI runs pip-audit as a workflow step")
    found, unchecked = result
    assert not found, f"PyPI lists advisories for locked releases: {found}"
    if unchecked:
        print(f"not the newest release, so not checked here (pip-audit in CI checks them): {unchecked}")


def _npm_registry(npm: str) -> str:
    result = subprocess.run(
        [npm, "config", "get", "registry"], capture_output=True, text=True, timeout=60, check=False, cwd=FRONTEND
    )
    return (result.stdout.strip() or "https://registry.npmjs.org/").rstrip("/")


def test_npm_audit_finds_no_known_vulnerability_in_the_frontend_runtime() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    endpoint = _npm_registry(npm) + "/-/npm/v1/security/advisories/bulk"
    try:
        answered = httpx.post(endpoint, json={}, timeout=PROBE_TIMEOUT).status_code
    except httpx.HTTPError as exc:
        answered = f"{type(exc).__name__}"
    if answered != 200:
        pytest.skip(f"the npm registry's audit endpoint does not answer here ({endpoint}: {answered})")
    result = subprocess.run(
        [npm, "audit", "--omit=dev", "--json"], capture_output=True, text=True, timeout=300, check=False, cwd=FRONTEND
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"npm audit did not report:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    found = report.get("metadata", {}).get("vulnerabilities", {})
    assert result.returncode == 0 and not any(found.values()), json.dumps(report.get("vulnerabilities"), indent=1)[
        :4000
    ]
