"""The venue layer stays out of `import hedgecore` and `hedgecore --help`."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
{body}
loaded = sorted(m for m in sys.modules if m.startswith("hedgecore.venues") or m == "http.client")
print("LOADED:" + ",".join(loaded))
"""


def _loaded(body: str) -> str:
    result = subprocess.run([sys.executable, "-c", PROBE.format(body=body)], capture_output=True, text=True,
                            check=True)
    return result.stdout.rsplit("LOADED:", 1)[1].strip()


def test_import_hedgecore_does_not_import_the_venues():
    assert _loaded("import hedgecore") == ""


def test_help_does_not_import_the_venues():
    body = ("sys.argv = ['hedgecore', '--help']\nfrom hedgecore.cli.main import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "sys.argv = ['hedgecore', 'market', 'snapshot', '--help']\n"
            "try:\n    app()\nexcept SystemExit:\n    pass")
    assert _loaded(body) == ""
