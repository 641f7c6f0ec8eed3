"""What every paysim_lab widget shares: a root ipywidgets container and notebook display."""
from __future__ import annotations

import html

import ipywidgets as W


class WidgetView:
    """Mixin: ``.widget`` is the root container; ``.show()`` and being a cell's last value
    both display it (the display hooks delegate to the container)."""

    widget: W.Widget

    def show(self):
        """Display the widget in the notebook (same as leaving it as a cell's last value)."""
        from IPython.display import display
        display(self.widget)

    def _ipython_display_(self):
        self.show()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def message_html(errors: list[str], lints: list[str], ok_text: str = "valid") -> str:
    """Validation messages as HTML: errors in red, lints in amber, else a green tick."""
    if not errors and not lints:
        return f'<div style="color:#2ca02c">✓ {esc(ok_text)}</div>'
    parts = []
    for m in errors:
        parts.append(f'<li style="color:#c62828">{esc(m)}</li>')
    for m in lints:
        parts.append(f'<li style="color:#b26a00">{esc(m)}</li>')
    head = (f"{len(errors)} error(s)" if errors else "valid") + (
        f", {len(lints)} warning(s)" if lints else "")
    color = "#c62828" if errors else "#b26a00"
    return (f'<div><b style="color:{color}">{esc(head)}</b>'
            f'<ul style="margin:2px 0 2px 18px;padding:0">{"".join(parts)}</ul></div>')
