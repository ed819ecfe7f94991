"""Audit the pinned runtime dependencies (requirements.txt) for known vulnerabilities with pip-audit.

Exit 1 on any finding. When the vulnerability service cannot be reached (CI reaches only package registries; PyPI's
per-release JSON API, which pip-audit asks, answers 404 there), print a warning naming what was not audited and exit 0.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        cmd = [
            sys.executable,
            "-m",
            "pip_audit",
            "-r",
            str(ROOT / "requirements.txt"),
            "-f",
            "json",
            "-o",
            str(report),
            "--progress-spinner",
            "off",
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            print("WARNING pip-audit: timed out after 600 s; dependencies NOT audited", file=sys.stderr)
            return 0
        if not report.exists():
            print(
                f"WARNING pip-audit could not run ({(done.stderr.strip().splitlines() or ['?'])[-1][:200]}); "
                "dependencies NOT audited",
                file=sys.stderr,
            )
            return 0
        deps = json.loads(report.read_text())["dependencies"]
    found = [(d["name"], d["version"], v["id"], v.get("fix_versions")) for d in deps for v in d.get("vulns", [])]
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    for name, version, vuln, fixes in found:
        print(
            f"VULNERABLE {name}=={version}: {vuln} (fixed in {', '.join(fixes) or 'no release yet'})", file=sys.stderr
        )
    if skipped:
        print(
            f"WARNING pip-audit: {len(skipped)} of {len(deps)} packages could not be audited (the vulnerability "
            f"service is unreachable from here or does not know them): {', '.join(skipped[:8])}...",
            file=sys.stderr,
        )
    print(
        f"pip-audit: {len(deps) - len(skipped)} of {len(deps)} packages audited, {len(found)} known vulnerabilities",
        file=sys.stderr,
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
