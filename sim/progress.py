"""Progress bars that suit where they are shown: a plain text bar on a terminal (stderr), and in
a Jupyter kernel the widget bar only when ``ipywidgets`` is installed (``tqdm.auto`` without it
warns "IProgress not found" and falls back anyway), else the plain bar, printed to the cell.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


def in_notebook() -> bool:
    """Is this process a Jupyter (IPython) kernel?"""
    shell = sys.modules.get("IPython")
    ip = getattr(shell, "get_ipython", lambda: None)() if shell is not None else None
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def tqdm(*args: Any, **kwargs: Any) -> Any:
    """A tqdm bar: the notebook widget in a kernel with ``ipywidgets``, else the text bar."""
    if in_notebook() and _widgets():
        from tqdm.notebook import tqdm as widget

        return widget(*args, **kwargs)
    from tqdm import tqdm as text

    return text(*args, **kwargs)


def interactive() -> bool:
    """Whether to show progress by default: on a terminal (stderr) or in a notebook."""
    return in_notebook() or sys.stderr.isatty()


@contextlib.contextmanager
def stage(what: str, show: bool) -> Iterator[None]:
    """Show ``what...`` on stderr while a step without a count of its own runs (building the
    theatre, writing outputs); the line goes away when it is done."""
    bar = tqdm(total=1, desc=what, bar_format="{desc}...", leave=False, disable=not show)
    try:
        yield
    finally:
        bar.update(1)
        bar.close()
