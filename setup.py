"""Build hook (all metadata is in pyproject.toml): ship the top-level page scripts inside the wheel.

The design card keeps the thin page scripts in the repository's top-level pages/ folder; an installed wheel has
no repository, so the build copies them into the `dashboard` package as dashboard/pages/, where
landdesk.resources.pages_dir() finds them. Editable installs keep using pages/ in place.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PAGES = Path("pages")


class build_py_with_pages(build_py):  # noqa: N801 (setuptools command naming)
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        scripts = sorted(PAGES.glob("*.py"))
        if not scripts:
            raise SystemExit("setup.py: no page scripts in pages/ (is pages/ in the sdist? see MANIFEST.in)")
        target = Path(self.build_lib) / "dashboard" / "pages"
        self.mkpath(str(target))
        for src in scripts:
            self.copy_file(str(src), str(target / src.name))


setup(cmdclass={"build_py": build_py_with_pages})
