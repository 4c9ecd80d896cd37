"""PDF rendering: the briefing's HTML laid out by WeasyPrint, with the CJK fonts embedded.

Why WeasyPrint: it lays out the same HTML as `render_html` (one look, one template), finds fonts
through fontconfig, and embeds them as subsetted CID fonts — Noto Sans CJK from Debian's
fonts-noto-cjk (OpenType/CFF in a .ttc collection) becomes `CID Type 0C` with a ToUnicode map, so
the text is extractable and `pdffonts` shows every font `emb yes`. It needs Pango ≥ 1.44 from the
system (Debian: libpango-1.0-0, libpangoft2-1.0-0, already pulled in by chromium). Chromium's own
print-to-PDF was tried and rejected: Skia writes CFF-flavoured CJK fonts as unnamed Type 3 fonts.
"""
from __future__ import annotations

from pathlib import Path

from briefing.model import Briefing
from briefing.render_html import render_html
from landdesk.errors import LandDeskError


def _weasyprint():
    try:
        import weasyprint
    except ImportError:
        raise LandDeskError("PDF output needs the weasyprint package (pip install weasyprint).") from None
    except OSError as exc:    # Pango/GObject missing from the system
        raise LandDeskError(f"PDF output needs Pango from the system (apt-get install libpango-1.0-0 "
                            f"libpangoft2-1.0-0): {str(exc).splitlines()[0]}") from None
    return weasyprint


def pdf_bytes(b: Briefing, html_text: str | None = None) -> bytes:
    weasyprint = _weasyprint()
    html_text = html_text if html_text is not None else render_html(b)
    return weasyprint.HTML(string=html_text).write_pdf()


def render_pdf(b: Briefing, path, html_text: str | None = None) -> Path:
    """Write the briefing as PDF to `path` (pass `html_text` to reuse an already rendered HTML page)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(pdf_bytes(b, html_text))
    tmp.replace(path)
    return path
