"""The media library: a cache directory of rendered MP4s, keyed by everything that shapes them, and of the
input images they are rendered from, keyed by content.

Identical requests share one file. Rendering runs in a small thread pool, and a file lock makes
concurrent renders of the same key (threads or worker processes) wait for one another instead of
duplicating work. The directory has a size cap; least recently used files go first and are re-rendered
if asked for again.

The directory is a cache, and users delete caches, also while the server runs: whatever a render needs
(the directory, ``locks/``) is made again at the point of use, never only at start. The locks are a fixed
set of ``LOCK_STRIPES`` files, a key taking the one its hash picks: a file per key would pile up for
ever, and removing a lock file after use races with a process that has just opened it (it would lock a
file no other process can find). Two keys sharing a stripe only take turns. If ``locks/`` is deleted while
a render holds one, another process can render the same video at the same time; renders are atomic, so
that costs time, never a broken file. A render whose directory is deleted under it is tried once more.

Input images live in ``images/``, one file per image named by its SHA-256 and written atomically; a task
keeps only that name. They are not kept in the store, where every distinct image added its size to the
file until a reset, nor in memory: a render reads its image when it starts, and a render waiting for a
thread holds only the way to read it. Images have a cap of their own (``image_max_bytes``), apart from the
videos': the video cache churns with every render, and an image must outlive its task's render, which in
the manual clock can be long after the submit. Least recently used images go first (a submit and a render
both count as a use). An image evicted all the same (more images submitted since than the cap holds, or the
directory deleted) fails its task's render with a :class:`MissingImage` that says so; the library cannot
know which tasks still need an image (they live in the store, possibly of other processes), and a bounded
directory matters more than rendering a task whose image was pushed out by a cap's worth of newer ones.

``render_timeout`` bounds ffmpeg's own run: the render is killed when it takes longer. Time spent waiting
for a render thread, or for another process rendering the same key, is not counted: it says how busy the
server is, not that a render is stuck, and counting it failed tasks for good under load. A caller that
waits for a render under way therefore gets that render's outcome, however long it queued.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from videomock.core.waits import waiting
from videomock.media.render import RenderError, VideoSpec, render
from videomock.media.variants import VARIANTS, render_variant

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("videomock")

#: Lock files in ``locks/``; renders of keys that share one take turns, so enough that this seldom happens
#: with a couple of render threads in each of a few workers.
LOCK_STRIPES = 32


class MissingImage(RenderError):
    """A task's input image is no longer in the media cache, so its video cannot be rendered."""


class VideoLibrary:
    def __init__(self, cache_dir: Path, *, max_bytes: int, image_max_bytes: int = 1 << 30, ffmpeg: str | None = None,
                 render_timeout: float = 120.0, threads: int = 2) -> None:
        self.cache_dir = Path(cache_dir).absolute()   # send_file would resolve a relative one against the app's root
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._drop_per_key_lock_files()
        self.max_bytes = max_bytes
        self.image_max_bytes = image_max_bytes
        self.ffmpeg = ffmpeg
        self.render_timeout = render_timeout
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="videomock-render")
        self._inflight: dict[str, Future[Path]] = {}
        self._lock = threading.Lock()

    def path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.mp4"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def start(self, key: str, spec: Callable[[], VideoSpec],
              done: Callable[[Future[Path]], None] | None = None) -> Future[Path]:
        """Render video ``key`` from ``spec()`` in the background unless already cached or under way; ``done``
        gets the future. ``spec`` is called by the render thread, only if the video is still missing then, so
        an input image is read (and held) only while its render runs."""
        with self._lock:
            future = self._inflight.get(key)
            started = future is None
            if future is None:
                future = self._pool.submit(self._render_locked, key, spec)
                self._inflight[key] = future
        # Outside the lock: a render can be over already (one that fails at once, such as one whose image is
        # gone), and then add_done_callback runs the callback here and now, which takes the lock.
        if started:
            future.add_done_callback(functools.partial(self._forget_future, key))
        if done is not None:
            future.add_done_callback(done)
        return future

    def ensure(self, key: str, spec: Callable[[], VideoSpec]) -> Path:
        """The path of video ``key``, rendering ``spec()`` now if it is not cached (waiting for a render under
        way, and for its outcome). The spec is built only when needed: it may mean reading an input image.
        Raises RenderError, including when ffmpeg ran longer than ``render_timeout``, and MissingImage."""
        path = self.path(key)
        if path.is_file():
            self.touch(path)
            return path
        future = self.start(key, spec)
        with waiting():
            return future.result()

    def ensure_variant(self, key: str, variant: str, spec: Callable[[], VideoSpec]) -> Path:
        """The path of ``variant`` ("video", "thumbnail", "spritesheet") of video ``key``, made from the video
        (rendered first if need be) unless cached. Raises RenderError and MissingImage, as :meth:`ensure`."""
        if variant == "video":
            return self.ensure(key, spec)
        path = self.cache_dir / f"{key}{VARIANTS[variant][0]}"
        if path.is_file():
            self.touch(path)
            return path
        video = self.ensure(key, spec)
        try:
            with waiting(), self._file_lock(f"{key}:{variant}"):
                if not path.is_file():
                    render_variant(video, variant, path, ffmpeg=self.ffmpeg, timeout=self.render_timeout)
        except OSError as exc:
            raise RenderError(f"the video cache {self.cache_dir} cannot be written: {exc}") from None
        return path

    def put_image(self, data: bytes) -> str:
        """Keep an input image until the image cap evicts it; returns its name, the SHA-256 of ``data``.
        Written to a temporary file and renamed, so a render never reads a partial image."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._image_path(digest)
        if path.is_file():
            self.touch(path)
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{digest}.")
        try:
            with open(fd, "wb") as fh:
                fh.write(data)
            os.replace(partial, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        self._evict(path.parent, "", self.image_max_bytes, keep=path)
        return digest

    def image(self, digest: str) -> bytes:
        """The input image named ``digest``. Raises MissingImage if it was evicted or deleted."""
        path = self._image_path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise MissingImage(f"its input image (sha256 {digest[:12]}...) is no longer in the media cache: evicted "
                               "to keep the image cache under its cap, or the cache directory was deleted; submit "
                               "the request again") from None
        self.touch(path)
        return data

    def _image_path(self, digest: str) -> Path:
        return self.cache_dir / "images" / digest

    def touch(self, path: Path) -> None:
        """Mark a file as recently used, for eviction order. Only the access time moves, so the file's
        Last-Modified (and conditional GETs) stay stable."""
        with contextlib.suppress(OSError):
            os.utime(path, (time.time(), path.stat().st_mtime))

    def _forget_future(self, key: str, future: Future[Path]) -> None:
        with self._lock:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    def _render_locked(self, key: str, spec: Callable[[], VideoSpec]) -> Path:
        """Render unless another thread or process did while this one waited for the lock."""
        try:
            return self._render_in_cache(key, spec)
        except RenderError:
            if self.cache_dir.is_dir():
                raise
            log.warning("the video cache %s was deleted during a render; rendering %s again", self.cache_dir, key)
            return self._render_in_cache(key, spec)

    def _render_in_cache(self, key: str, spec: Callable[[], VideoSpec]) -> Path:
        """A directory that cannot be used (a full disk, or deleted mid-render, when ffmpeg's working
        directory goes with it) fails the render like an ffmpeg error does."""
        path = self.path(key)
        try:
            with self._file_lock(key):
                if not path.is_file():
                    render(spec(), path, ffmpeg=self.ffmpeg, timeout=self.render_timeout)
                    self._evict(self.cache_dir, ".mp4", self.max_bytes, keep=path)
        except OSError as exc:
            raise RenderError(f"the video cache {self.cache_dir} cannot be written: {exc}") from None
        return path

    @contextlib.contextmanager
    def _file_lock(self, key: str) -> Iterator[None]:
        """An exclusive lock on the key's stripe, shared by threads and processes (each open file is locked
        on its own). Closing the file releases it."""
        if fcntl is None:
            yield
            return
        stripe = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % LOCK_STRIPES
        locks = self.cache_dir / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{stripe:02d}.lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def _drop_per_key_lock_files(self) -> None:
        """Caches of earlier versions hold a lock file per video ever rendered, named by its key; nothing
        locks them any more. At worst, one that an older server still running on this directory holds lets
        a second render of that video start beside the first."""
        for old in (self.cache_dir / "locks").glob("?" * 64 + ".lock"):
            with contextlib.suppress(FileNotFoundError):
                old.unlink()

    def _evict(self, folder: Path, suffix: str, max_bytes: int, keep: Path) -> None:
        """Delete the least recently used files of ``folder`` whose names end with ``suffix`` until they fit
        ``max_bytes``. Names starting with a dot are work in progress (a render's directory, a partial image)."""
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:   # deleted meanwhile: nothing left to evict
            return
        files = []
        for entry in entries:
            if entry.name.endswith(suffix) and not entry.name.startswith(".") and entry.is_file():
                stat = entry.stat()
                files.append((stat.st_atime, stat.st_size, Path(entry.path)))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= max_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                total -= size
                log.info("evicted %s from the media cache", path.relative_to(self.cache_dir))
            for variant_suffix, _ in VARIANTS.values():   # what was cut from an evicted video goes with it
                if suffix == ".mp4" and variant_suffix != suffix:
                    path.with_name(path.name.removesuffix(suffix) + variant_suffix).unlink(missing_ok=True)

    def close(self) -> None:
        """Cancel queued renders and wait for those under way (each bounded by ``render_timeout``): a render
        left running would go on writing, and recreating, a cache directory its owner is about to delete
        (a test session's temporary folder, say)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
