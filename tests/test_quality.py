"""Checks CI and developers share: lint, types, and a committed frontend build that is fresh."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

from tests.services import require

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"
STATIC = ROOT / "collabcode" / "static"


def _run(cmd: list[str], cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_ruff() -> None:
    targets = [d for d in ("collabcode", "tests", "benchmarks") if (ROOT / d).is_dir()]
    r = _run([sys.executable, "-m", "ruff", "check", *targets])
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]


def test_mypy_strict() -> None:
    r = _run([sys.executable, "-m", "mypy"])
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]


def _diff(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b)
    problems = [f"only in committed: {n}" for n in cmp.left_only] + [
        f"only in fresh build: {n}" for n in cmp.right_only
    ]
    problems += [f"differs: {n}" for n in cmp.diff_files]
    for name in cmp.common_files:
        if not filecmp.cmp(a / name, b / name, shallow=False) and f"differs: {name}" not in problems:
            problems.append(f"differs: {name}")
    for sub in cmp.common_dirs:
        problems += [f"{sub}/{p}" for p in _diff(a / sub, b / sub)]
    return problems


def test_committed_frontend_build_is_fresh(tmp_path: Path) -> None:
    """Rebuild the frontend from its sources and compare byte for byte with what is committed."""
    npm = shutil.which("npm")
    require(npm is not None and shutil.which("node") is not None, "Node.js and npm")
    assert npm is not None
    if not (FRONTEND / "node_modules").is_dir():
        r = _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FRONTEND)
        assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / "static"
    r = _run(["node", "build.mjs", str(out)], cwd=FRONTEND)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    problems = _diff(STATIC, out)
    assert not problems, "collabcode/static is stale; run `npm run build` in frontend/ and commit:\n" + "\n".join(
        problems[:40]
    )
