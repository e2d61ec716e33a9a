"""Progress of a fit on a tqdm bar (``cimspice fit``): one step per candidate model family
fitted and per refit, with the surrogate and the family being fitted beside the bar."""

from __future__ import annotations

__all__ = ["FitProgress"]


class FitProgress:
    """A bar of ``total`` steps on stderr; ``enabled`` None shows it only on a terminal
    (tqdm's rule, as ``cimspice sweep`` does), False never."""

    def __init__(self, total: int, enabled: bool | None = None, desc: str = "fit"):
        from tqdm.auto import tqdm  # only when fitting: loading and evaluating surrogates do without
        from tqdm.contrib.logging import logging_redirect_tqdm

        self._bar = tqdm(total=total, desc=desc, unit="fit", disable=None if enabled is None else not enabled)
        # a log line (e.g. an accuracy warning) is printed above the bar, not through it
        self._logs = None if self._bar.disable else logging_redirect_tqdm()
        if self._logs is not None:
            self._logs.__enter__()

    def start(self, name: str, label: str) -> None:
        """Show that ``label`` (a family, or "refit <family>") of surrogate ``name`` is being
        fitted: redrawn now, since one fit may take tens of seconds."""
        self._bar.set_postfix_str(f"{name}: {label}", refresh=True)

    def done(self) -> None:
        self._bar.update(1)

    def __enter__(self) -> FitProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._logs is not None:
            self._logs.__exit__(None, None, None)
            self._logs = None
        self._bar.close()
