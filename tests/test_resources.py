"""landdesk.resources: the packaged files resolve in a source checkout (the wheel is checked by
scripts/wheel-smoke.sh), and the wheel's packaging lists what the product imports."""
import subprocess
import sys
from pathlib import Path

from landdesk import resources
from landdesk.pages import PAGES

ROOT = Path(__file__).resolve().parent.parent


def test_every_resource_resolves_in_the_checkout():
    assert resources.checkout_root() == ROOT
    assert resources.app_path() == ROOT / "dashboard" / "app.py" and resources.app_path().is_file()
    assert resources.pages_dir() == ROOT / "pages"
    assert all(resources.page_path(key).is_file() for key in PAGES)
    assert (resources.sample_dir() / "sources.yaml").is_file() and resources.sample_sources().is_file()
    assert (resources.migrations_dir() / "env.py").is_file()
    assert resources.default_realdata() == ROOT.parent / "shared" / "realdata"


def test_no_product_module_edits_sys_path():
    product = ["landdesk", "service", "cli", "etl", "analytics", "briefing", "delivery", "api", "dashboard", "pages", "sample_data"]
    offenders = [str(p.relative_to(ROOT)) for d in product for p in (ROOT / d).rglob("*.py")
                 if "sys.path.insert" in p.read_text(encoding="utf-8") or "sys.path.append" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_landdesk_version():
    out = subprocess.run([sys.executable, "-m", "cli.main", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("landdesk ")


def test_every_imported_third_party_package_is_declared():
    """Every top-level import of the product that is neither the standard library nor LandDesk itself comes
    from a distribution listed in pyproject.toml's dependencies (a wheel install gets nothing else)."""
    import ast
    import re
    import tomllib
    from importlib.metadata import packages_distributions

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {norm(re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0]) for d in project["dependencies"]}
    product = ["landdesk", "service", "cli", "etl", "analytics", "briefing", "delivery", "api", "dashboard", "pages", "sample_data"]
    dists = packages_distributions()
    undeclared = {}
    for d in product:
        for path in (ROOT / d).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
                for top in {n.split(".")[0] for n in names}:
                    if top in sys.stdlib_module_names or top in product or top == "__future__":
                        continue
                    if not {norm(n) for n in dists.get(top, [top])} & declared:
                        undeclared.setdefault(top, str(path.relative_to(ROOT)))
    assert undeclared == {}, f"imported but not in pyproject.toml dependencies: {undeclared}"
