"""The placeholder-video library: a cache directory of rendered MP4s, keyed by everything that shapes them.

Identical requests share one file. Rendering runs in a small thread pool, and a per-key file lock makes
concurrent renders of the same key (threads or worker processes) wait for one another instead of
duplicating work. The directory has a size cap; least recently used files go first and are re-rendered
if asked for again.

``render_timeout`` bounds ffmpeg's own run: the render is killed when it takes longer. Time spent waiting
for a render thread, or for another process rendering the same key, is not counted: it says how busy the
server is, not that a render is stuck, and counting it failed tasks for good under load. A caller that
waits for a render under way therefore gets that render's outcome, however long it queued.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from videomock.core.waits import waiting
from videomock.media.render import VideoSpec, render

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("videomock")


class VideoLibrary:
    def __init__(self, cache_dir: Path, *, max_bytes: int, ffmpeg: str | None = None,
                 render_timeout: float = 120.0, threads: int = 2) -> None:
        self.cache_dir = Path(cache_dir).absolute()   # send_file would resolve a relative one against the app's root
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        (self.cache_dir / "locks").mkdir(exist_ok=True)
        self.max_bytes = max_bytes
        self.ffmpeg = ffmpeg
        self.render_timeout = render_timeout
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="videomock-render")
        self._inflight: dict[str, Future[Path]] = {}
        self._lock = threading.Lock()

    def path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.mp4"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def start(self, spec: VideoSpec, done: Callable[[Future[Path]], None] | None = None) -> Future[Path]:
        """Render in the background unless already cached or under way; ``done`` gets the future."""
        key = spec.cache_key()
        with self._lock:
            future = self._inflight.get(key)
            if future is None:
                future = self._pool.submit(self._render_locked, spec)
                self._inflight[key] = future
                future.add_done_callback(functools.partial(self._forget_future, key))
        if done is not None:
            future.add_done_callback(done)
        return future

    def ensure(self, key: str, spec: Callable[[], VideoSpec]) -> Path:
        """The path of video ``key``, rendering ``spec()`` now if it is not cached (waiting for a render under
        way, and for its outcome). The spec is built only when needed: it may mean reading an input image
        from the store. Raises RenderError, including when ffmpeg ran longer than ``render_timeout``."""
        path = self.path(key)
        if path.is_file():
            self.touch(path)
            return path
        future = self.start(spec())
        with waiting():
            return future.result()

    def touch(self, path: Path) -> None:
        """Mark a file as recently used, for eviction order. Only the access time moves, so the file's
        Last-Modified (and conditional GETs) stay stable."""
        with contextlib.suppress(OSError):
            os.utime(path, (time.time(), path.stat().st_mtime))

    def _forget_future(self, key: str, _future: Future[Path]) -> None:
        with self._lock:
            self._inflight.pop(key, None)

    def _render_locked(self, spec: VideoSpec) -> Path:
        path = self.path(spec.cache_key())
        with self._file_lock(spec.cache_key()):
            if not path.is_file():
                render(spec, path, ffmpeg=self.ffmpeg, timeout=self.render_timeout)
                self._evict(keep=path)
        return path

    @contextlib.contextmanager
    def _file_lock(self, key: str) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        with open(self.cache_dir / "locks" / f"{key}.lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _evict(self, keep: Path) -> None:
        """Delete least recently used videos until the directory fits ``max_bytes``."""
        files = []
        for entry in os.scandir(self.cache_dir):
            if entry.name.endswith(".mp4") and entry.is_file():
                stat = entry.stat()
                files.append((stat.st_atime, stat.st_size, Path(entry.path)))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                total -= size
                log.info("evicted %s from the video cache", path.name)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
