"""The virtual clock that drives every task's lifecycle.

A task's status is a pure function of its timeline and the clock's current virtual time, so the clock is
the one thing a test needs to control. Its state lives in the store (not in this object), so every worker
sees the same time and a restarted server resumes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from videomock.store import Store

MODES = ("speed", "instant", "manual")
_STATE_KEY = "clock"
_CONFIG_KEY = "config"


class ClockError(ValueError):
    """The clock cannot move as asked; the message says how far it can."""


@dataclass(frozen=True)
class ClockState:
    mode: str
    speed: float
    anchor_real: float      # real (wall) time when the state was last set
    anchor_virtual: float   # virtual time at that moment

    def now(self, real: float) -> float:
        if self.mode == "speed":
            return self.anchor_virtual + (real - self.anchor_real) * self.speed
        return self.anchor_virtual


class Clock:
    """Virtual time. In ``speed`` mode it runs ``speed`` times faster than the wall clock; in ``manual``
    and ``instant`` modes it stands still until :meth:`advance` is called (instant mode also makes the
    catalog's typical times zero, see :meth:`scale`)."""

    #: The latest virtual time the clock may show: the last second of the year 9999 (UTC). Times past it have
    #: no four-digit year, which is all most date types (Python's datetime among them) hold, and times far
    #: past it stop being numbers (1e308 twice is infinity).
    LATEST = 253402300799.0

    def __init__(self, store: Store, *, mode: str = "speed", speed: float = 1.0,
                 real_time: Callable[[], float] = time.time) -> None:
        self._store = store
        self._real_time = real_time
        self._default = (mode, speed)
        #: The stored state last read, and its ClockState: a store hands out the same object while the state
        #: is unchanged, and every request reads the clock (a poll twice), so it is parsed once per change.
        self._parsed: tuple[object, ClockState] | None = None

    def _configured(self) -> tuple[str, float]:
        """The mode and speed a fresh clock (first use, or after a reset) starts in: the stored configuration's
        when there is one. Not this object's own: with several workers, the one that resets the clock may not
        be the one that was told about a runtime change of mode."""
        config = self._store.get_state(_CONFIG_KEY)
        if config is None:
            return self._default
        return config["clock"]["mode"], config["clock"]["speed"]

    def state(self) -> ClockState:
        raw = self._store.get_state(_STATE_KEY)
        if raw is None:
            now = self._real_time()
            mode, speed = self._configured()
            state = ClockState(mode, speed, now, now)
            self._store.set_state(_STATE_KEY, asdict(state))
            return state
        parsed = self._parsed
        if parsed is not None and parsed[0] is raw:
            return parsed[1]
        state = ClockState(**raw)
        self._parsed = (raw, state)
        return state

    def now(self) -> float:
        return self.state().now(self._real_time())

    def real_now(self) -> float:
        """The wall clock this clock runs against (injectable, as for :meth:`now`)."""
        return self._real_time()

    @property
    def mode(self) -> str:
        return self.state().mode

    def scale(self) -> float:
        """Factor applied to the catalog's typical queue/render times: 0 in instant mode."""
        return 0.0 if self.mode == "instant" else 1.0

    def advance(self, seconds: float) -> float:
        """Move virtual time forward; returns the new virtual time. Raises ClockError for a move backwards or
        past :attr:`LATEST`."""
        if seconds < 0:
            raise ClockError("the clock only moves forward")
        current = self.state()
        real = self._real_time()
        now = current.now(real)
        if not now + seconds <= self.LATEST:  # also refuses NaN
            raise ClockError(f"moving the clock {seconds:g} s would take it past the end of the year 9999; it can "
                             f"move at most {int(self.LATEST - now)} s more")
        moved = ClockState(current.mode, current.speed, real, now + seconds)
        self._store.set_state(_STATE_KEY, asdict(moved))
        return moved.anchor_virtual

    def configure(self, mode: str, speed: float) -> None:
        """Change mode or speed from now on, without a jump in virtual time; start the clock if it has not
        started. Servers call this before serving, so that concurrent first requests do not each start it
        at their own moment: the last to store its start would win, and in instant mode (where time stands
        still) a task created under an earlier start than the one kept would never leave the queue."""
        if mode not in MODES:
            raise ValueError(f"clock mode {mode!r}; expected one of {', '.join(MODES)}")
        self._default = (mode, speed)
        current = self._store.get_state(_STATE_KEY)
        real = self._real_time()
        if current is None:
            self._store.set_state(_STATE_KEY, asdict(ClockState(mode, speed, real, real)))
            return
        state = ClockState(**current)
        if (state.mode, state.speed) != (mode, speed):
            self._store.set_state(_STATE_KEY, asdict(ClockState(mode, speed, real, state.now(real))))

    def reset(self) -> None:
        """Back to the wall clock's current time, in the configured mode."""
        real = self._real_time()
        mode, speed = self._configured()
        self._store.set_state(_STATE_KEY, asdict(ClockState(mode, speed, real, real)))
