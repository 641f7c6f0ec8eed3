"""Interrupts that stop a run between ticks, never in the middle of a store write.

Ctrl-C (SIGINT, also what Jupyter's "interrupt kernel" sends) and, under ``paysim run``,
SIGTERM and SIGHUP normally raise wherever Python happens to be, possibly halfway through a
flush to the store. While a simulation runs, :func:`deferred` replaces that with: remember
the signal, finish the current tick, then raise :class:`Interrupted` at the tick boundary.
The run then stops like any failed run: every completed tick is flushed and the run is
stored as ``failed`` with ``interrupted by SIGINT at tick N``. A second signal while the
first is pending raises at once (a tick that never ends can still be stopped), except inside
:func:`critical` (store transactions), which always complete or roll back first.

>>> with deferred():
...     check()          # nothing pending: returns
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

#: Signals handled while a run is in progress (those that exist on this platform).
RUN_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT",) if hasattr(signal, n))
#: Signals ``paysim run`` also turns into an orderly stop.
TERMINATION_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP")
                            if hasattr(signal, n))


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``signame`` is ``"SIGINT"``, ``"SIGTERM"`` or ``"SIGHUP"``."""

    def __init__(self, signum: int, tick: int | None = None):
        self.signum = signum
        self.signame = _name(signum)
        self.tick = tick
        where = f" at tick {tick}" if tick is not None else ""
        super().__init__(f"interrupted by {self.signame}{where}")


class _State:
    def __init__(self):
        self.pending: int | None = None
        self.active = 0          # nested deferred() blocks in progress
        self.critical = 0        # nested critical() blocks in progress


_state = _State()


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _handler(signum, frame) -> None:
    if _state.active and (_state.pending is None or _state.critical):
        if _state.pending is None:
            _state.pending = signum
        return
    if _state.critical:          # outside a run, but inside a store write: finish it first
        _state.pending = signum
        return
    _state.pending = None
    raise Interrupted(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def deferred(signals: tuple = RUN_SIGNALS) -> Iterator[None]:
    """Within the block, ``signals`` only set a flag that :func:`check` turns into
    :class:`Interrupted`. Outside the main thread (where Python delivers no signals) it does
    nothing. Handlers installed by the caller are put back afterwards."""
    if not _main_thread():
        yield
        return
    previous = {}
    for s in signals:
        try:
            if signal.getsignal(s) is not _handler:
                previous[s] = signal.signal(s, _handler)
        except (ValueError, OSError):      # pragma: no cover - not settable here
            pass
    _state.active += 1
    try:
        yield
    finally:
        _state.active -= 1
        for s, h in previous.items():
            try:
                signal.signal(s, h)
            except (ValueError, OSError, TypeError):   # pragma: no cover
                pass
        if not _state.active and _state.pending is not None and not _state.critical:
            # a signal arrived after the last check (the run's stored state is complete)
            signum, _state.pending = _state.pending, None
            raise Interrupted(signum)


def check(tick: int | None = None) -> None:
    """Raise :class:`Interrupted` if a signal arrived since the block began."""
    if _state.pending is not None and not _state.critical:
        signum, _state.pending = _state.pending, None
        raise Interrupted(signum, tick)


@contextmanager
def critical() -> Iterator[None]:
    """A store write that must complete or roll back before any signal is acted on."""
    _state.critical += 1
    try:
        yield
    finally:
        _state.critical -= 1
        if not _state.critical and not _state.active and _state.pending is not None:
            signum, _state.pending = _state.pending, None
            raise Interrupted(signum)


def install_termination_handlers() -> None:
    """``paysim run``: SIGTERM and SIGHUP stop a run as Ctrl-C does (between ticks, the run
    stored as failed); outside a run they raise :class:`Interrupted` at once."""
    if not _main_thread():
        return
    for s in TERMINATION_SIGNALS:
        try:
            signal.signal(s, _handler)
        except (ValueError, OSError):       # pragma: no cover
            pass
