"""CSV cells a spreadsheet cannot run as formulas (OWASP "CSV Injection").

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is run as a formula by Excel, LibreOffice and Google Sheets. Exports
prefix such a cell with a single quote, which spreadsheets show as text;
imports undo exactly that prefix, so an export re-imports unchanged.
"""

from __future__ import annotations

__all__ = ["FORMULA_TRIGGERS", "neutralise", "restore"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet shows it as text.

    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("fine"), neutralise("")
    ('fine', '')
    """
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def restore(cell: str) -> str:
    """Undo :func:`neutralise`: drop a quote that precedes a formula trigger.

    >>> restore("'=1+1"), restore("'quoted"), restore("plain")
    ('=1+1', "'quoted", 'plain')
    """
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_TRIGGERS) else cell
