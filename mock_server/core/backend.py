"""The fake provider's behaviour, kept apart from HTTP (as moto keeps backends apart from responses).

:class:`VideoBackend` validates and accepts requests, plans each task's timeline, answers polls from the
clock, and makes sure a video exists before a task is reported completed. It raises :class:`APIError` for
anything the provider would refuse; the HTTP layer only parses, authenticates and renders.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from videomock.config import STARTUP_ONLY, ConfigError, check_config, merge_config
from videomock.contracts.catalog import Catalog, ModelSpec
from videomock.contracts.images import ImageError, parse_image
from videomock.contracts.media import MediaError, container_seconds
from videomock.contracts.validation import Violation, validate_request
from videomock.core import links, rng
from videomock.core.clock import Clock
from videomock.core.errors import APIError, provider_error
from videomock.core.exchange import Exchange
from videomock.core.faults.decision import FAILURE_REASONS, JobShape, job_shape, record
from videomock.core.faults.rules import Firing, RequestFacts, Rule, compile_rules, fire, fired_counter
from videomock.core.idempotency import Claim, IdempotencyKeys, Replay
from videomock.core.journal import capped, journal_entry
from videomock.core.limits import charge, check_in_flight, task_cost
from videomock.core.tasks import Origin, Plan, Task, TaskState, is_due, is_running, observe, output_seed
from videomock.core.vault import seal_config
from videomock.core.waits import WouldWait
from videomock.core.webhooks.engine import WebhookEngine
from videomock.core.webhooks.faults import early_seconds
from videomock.media.damage import Damage
from videomock.media.images import fetch_image
from videomock.media.library import MissingImage, VideoLibrary
from videomock.media.render import RenderError, VideoSpec
from videomock.store import Store

log = logging.getLogger("videomock")

#: The documented dialect's submits: ``task_`` ids, models by catalog id.
DOCUMENTED = Origin()
#: Bounds of the wait a poll's answer suggests (see :meth:`VideoBackend.poll_after`).
MAX_POLL_AFTER_VIRTUAL_SECONDS = 10.0
MANUAL_POLL_AFTER_SECONDS = 0.1

#: Task error code reported when the placeholder video could not be rendered.
RENDER_FAILED_CODE = 5010
#: Video lengths kept in memory (a few floats each) before the table starts again.
VIDEO_SECONDS_KEPT = 10_000


@dataclass(frozen=True)
class TaskView:
    """A task and its state at one moment: what a poll answers."""

    task: Task
    state: TaskState


def _unsettled(task: Task) -> bool:
    """No render outcome is recorded yet. The first one recorded stands: a task never becomes rendered after
    it failed, nor failed after it was rendered, whichever thread or worker learns of a render last."""
    return not task.rendered and task.failure is None


def bad_request(violations: list[Violation]) -> APIError:
    """One 400 for every violation: ``param`` names the first (most basic) one, the message lists them all."""
    first = violations[0]
    message = "; ".join(v.message for v in violations)
    return provider_error(first.code, message, param=first.param)


class VideoBackend:
    def __init__(self, config: Mapping[str, Any], store: Store, videos: VideoLibrary, *,
                 real_time: Callable[[], float] = time.time) -> None:
        self.store = store
        self.videos = videos
        self.idempotency = IdempotencyKeys(store)
        self._catalog_cache: tuple[object, Catalog] | None = None
        #: Each video's length by its cache key: the same key is the same file, whoever renders it.
        self._video_seconds: dict[str, float] = {}
        self._rules_cache: tuple[object, list[Rule]] | None = None
        #: (task id, video key) of each render whose end is to be recorded on the task (see _watch_render).
        self._watched_renders: set[tuple[str, str]] = set()
        self._watch_lock = threading.Lock()
        if store.get_state("config") is None:
            store.set_state("config", seal_config(store, config))
        clock_cfg = self.config["clock"]
        self.clock = Clock(store, mode=clock_cfg["mode"], speed=clock_cfg["speed"], real_time=real_time)
        self.webhooks = WebhookEngine(store, self.clock, seed=lambda: self.seed, config=lambda: self.config,
                                      view=self._current_view, real_time=real_time)
        self.webhooks.resume()   # deliveries a previous run left unsent

    # --- configuration -------------------------------------------------------------------------------

    @property
    def config(self) -> Mapping[str, Any]:
        config: Mapping[str, Any] = self.store.get_state("config")
        return config

    @property
    def catalog(self) -> Catalog:
        """The catalog of the current configuration, rebuilt only when the configuration changes."""
        version, config = self.store.versioned_state("config")
        cached = self._catalog_cache
        if cached is None or version is None or cached[0] != version:
            cached = (version, Catalog.load(config["models"]))
            self._catalog_cache = cached
        return cached[1]

    @property
    def rules(self) -> list[Rule]:
        """The fault rules of the current configuration, compiled only when the configuration changes."""
        version, config = self.store.versioned_state("config")
        cached = self._rules_cache
        if cached is None or version is None or cached[0] != version:
            cached = (version, compile_rules(config["faults"], max_delay=config["limits"]["max_delay_seconds"]))
            self._rules_cache = cached
        return cached[1]

    def plain(self, endpoint: str) -> bool:
        """Whether no fault rule could match a request to ``endpoint`` (submit, poll, ...): the fast paths take
        only such requests."""
        return not any(endpoint in rule.endpoints for rule in self.rules)

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    def fault_rules(self) -> list[dict[str, Any]]:
        """The configured fault rules as configured, each with its id and how often it matched and fired
        since the last reset (for ``GET /__admin/faults``)."""
        return [{**raw, "id": rule.id, "matched": self.store.counter(rule.counter),
                 "fired": self.store.counter(fired_counter(rule.counter))}
                for raw, rule in zip(self.config["faults"], self.rules, strict=True)]

    def remove_fault_rule(self, rule_id: str) -> dict[str, Any]:
        """Remove one rule by id (404 when there is none); the others keep their counts."""
        rules = self.rules
        if not any(rule.id == rule_id for rule in rules):
            known = ", ".join(rule.id for rule in rules) or "none"
            raise provider_error("fault_rule_not_found", f"No fault rule {rule_id!r}; the rules are: {known}.",
                                 param="id")
        kept = [raw for raw, rule in zip(self.config["faults"], rules, strict=True) if rule.id != rule_id]
        return self.update_config({"faults": kept})

    def configure(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the runtime configuration. Startup-only sections may be omitted but not changed.
        Raises ConfigError naming the offending setting."""
        current = self.config
        document = dict(document)
        for section in STARTUP_ONLY:
            document.setdefault(section, current[section])
        checked = check_config(document)
        for section in STARTUP_ONLY:
            if checked[section] != current[section]:
                raise ConfigError(f"{section} settings only take effect at start; restart the server to change them")
        sealed = seal_config(self.store, checked)
        self.store.set_state("config", sealed)
        self.clock.configure(checked["clock"]["mode"], checked["clock"]["speed"])
        self.webhooks.wake()
        return sealed

    def update_config(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the runtime configuration (tables merge, other values replace)."""
        return self.configure(merge_config(copy.deepcopy(dict(self.config)), changes))

    # --- provider operations ------------------------------------------------------------------------

    def submit(self, owner: str, body: Any, exchange: Exchange | None = None, *,
               idempotency_key: str | None = None, origin: Origin = DOCUMENTED, may_wait: bool = True) -> Task:
        """Accept a generation request (the catalog's canonical body: dialect adapters map theirs onto it).
        Order matters and mirrors a real gateway: validate, then faults (rate limits, safety rejections), then
        quota, then the task is created with its whole future.

        Without ``may_wait``, what would wait (another submit holding the idempotency key, an image to fetch)
        raises WouldWait instead; both come before quota and the task, so by then only the fault rules'
        counters may have moved (an idempotency claim taken is given back), and a caller that runs the submit
        again takes care that no rule could match it."""
        exchange = exchange if exchange is not None else Exchange()
        catalog = self.catalog
        violations = validate_request(body, catalog)
        if violations:
            raise bad_request(violations)
        spec = catalog[body["model"]]
        self._apply_faults(RequestFacts("submit", owner, spec.id, body.get("prompt")), exchange)
        claim = None
        if idempotency_key is not None:
            ticket = self.idempotency.begin(owner, idempotency_key, body, exists=self._task_exists, may_wait=may_wait)
            if isinstance(ticket, Replay):
                replayed = self.store.get_task(ticket.task_id)
                if replayed is not None:
                    return replayed
            claim = ticket if isinstance(ticket, Claim) else None
        try:
            params = spec.resolve(body)
            image, params = self._take_image(params, may_wait=may_wait)
            task = self._create(owner, spec, params, image, exchange, origin)
        except BaseException:
            if claim is not None:
                self.idempotency.abandon(claim)
            raise
        if claim is not None:
            self.idempotency.finish(claim, task.id, body)
        return task

    def _create(self, owner: str, spec: ModelSpec, params: dict[str, Any], image_bytes: bytes | None,
                exchange: Exchange, origin: Origin) -> Task:
        now = self.clock.now()
        limits = self.config["limits"]
        outputs = params["n"]
        check_in_flight(limits, self.store, owner, now)
        charge(limits, self.store, owner, task_cost(spec, params["duration"]) * outputs)
        shape = job_shape(exchange.applied)
        plan = self._plan(shape, outputs)
        early = early_seconds(exchange.applied)

        audio, damage = spec.has_audio(params), Damage.from_plan(plan.damage)

        def build(seq: int) -> Task:
            resolved = params if "seed" in params else {**params, "seed": rng.derive(self.seed, "video-seed", seq) % 2**32}
            queue, render = self._timeline(spec, seq, shape)
            render = round(render + early, 3)   # an early-event fault: the task ends later than its event says
            first, *more = (self.video_spec(spec.id, resolved, image_bytes, output, audio=audio, damage=damage).cache_key()
                            for output in range(outputs))
            task = Task(
                id=origin.ids.make(self.seed, seq), seq=seq, owner=owner, model=spec.id,
                params=resolved, created_at=now, created_wall=self.clock.real_now(), queue_seconds=queue,
                render_seconds=render, video_key=first, extra_video_keys=tuple(more), plan=plan,
                dialect=origin.dialect, model_name=origin.model_name if origin.model_name != spec.id else None,
                remixed_from=origin.remixed_from, dialect_data=origin.dialect_data, audio=audio,
            )
            # Cached videos need no render, nor a later write.
            return replace(task, rendered=all(self.videos.has(key) for key in task.video_keys))

        task = self.store.create_task(build)
        if not task.rendered and task.queue_seconds == 0 and is_running(task, now):
            self._start_render(task)
        self.webhooks.plan(task, origin, exchange.applied)
        return task

    def get(self, owner: str, task_id: str, exchange: Exchange | None = None) -> TaskView:
        """A task's state now. A task whose video is due is answered only once the video exists."""
        task = self._owned(owner, task_id)
        self._apply_faults(RequestFacts("poll", owner, task.model, task.params.get("prompt")),
                           exchange if exchange is not None else Exchange())
        return self._view(task)

    def plain_view(self, owner: str, task_id: str) -> TaskView | None:
        """A poll's answer when nothing special can happen to it: no fault rule could match a poll and the
        task is the caller's. None means "take the full path" (which also renders the errors)."""
        if not self.plain("poll"):
            return None
        task = self.store.get_task(task_id)
        if task is None or task.owner != owner:
            return None
        return self._view(task)

    def video_file(self, owner: str | None, task_id: str, exchange: Exchange | None = None, *,
                   variant: str = "video", output: int = 0) -> Path:
        """The completed task's MP4 (its ``output``-th, for a request of several), or its thumbnail or
        spritesheet (made again if evicted). 400 before completion. ``owner`` None means the caller proved
        access another way (a signed CDN link)."""
        task = self.store.get_task(task_id) if owner is None else self._owned(owner, task_id)
        if task is None:
            raise provider_error("task_not_found", f"No task {task_id!r}.", param="task_id")
        self._apply_faults(RequestFacts("download", task.owner, task.model, task.params.get("prompt")),
                           exchange if exchange is not None else Exchange())
        view = self._view(task)
        if view.state.status != "completed":
            raise provider_error("video_not_ready", f"Task {task_id} is {view.state.status}; its video can be downloaded "
                                 "once it is completed.", param="task_id")
        damage = Damage.from_plan(task.plan.damage)
        if exchange is not None and damage is not None and variant == "video":
            exchange.media_type = damage.content_type
        return self.rendered_file(view, output, variant)

    def rendered_file(self, view: TaskView, output: int = 0, variant: str = "video") -> Path:
        """A completed task's video ``output`` (or a variant of it), made again if evicted; no faults apply
        (the request it answers has had its own). A dialect that puts the video in a poll's answer reads it
        here."""
        task_id = view.task.id
        keys = view.task.video_keys
        if not 0 <= output < len(keys):
            raise provider_error("task_not_found", f"Task {task_id} has {len(keys)} video(s); there is no video "
                                 f"{output}.", param="task_id")
        try:
            if variant != "video" and view.task.plan.damage is not None:
                # A provider cuts thumbnails from the video it made; the damage is the download's.
                intact = replace(self._spec_for(view.task, output), damage=None)
                return self.videos.ensure_variant(intact.cache_key(), variant, lambda: intact)
            return self.videos.ensure_variant(keys[output], variant, lambda: self._spec_for(view.task, output))
        except MissingImage as exc:
            raise provider_error("video_expired", f"Task {task_id}'s video was evicted from the cache and cannot be "
                                 f"rendered again: {exc}.", param="task_id") from None
        except RenderError as exc:
            log.error("re-render of %s failed: %s", task_id, exc)
            raise provider_error("render_failed", "The video could not be re-rendered; see the server log.") from None

    def video_seconds(self, task: Task) -> float:
        """How long a completed task's video is, as its file says (what a provider that reports the length
        reports: Kling's "5.042"), read from the MP4's header once per video. A video evicted from the cache
        is rendered again; one that cannot be (its image is gone too) is reported at its requested duration,
        and its download says why it is gone."""
        seconds = self._video_seconds.get(task.video_key)
        if seconds is None:
            try:
                seconds = container_seconds(self.videos.ensure(task.video_key, lambda: self._spec_for(task, 0)))
            except (MediaError, OSError) as exc:
                log.warning("the length of task %s's video is its requested duration: %s", task.id, exc)
                return float(task.params["duration"])
            if len(self._video_seconds) >= VIDEO_SECONDS_KEPT:
                self._video_seconds.clear()
            self._video_seconds[task.video_key] = seconds
        return seconds

    def remix(self, owner: str, task_id: str, prompt: str, exchange: Exchange | None = None, *,
              origin: Origin = DOCUMENTED) -> Task:
        """A new task that renders a completed task's request again with another prompt (the OpenAI API's
        remix). Faults and limits apply to it as to any submit. ``prompt`` is one the dialect's contract
        accepts (a non-empty string); how long it may be is the source model's rule, checked here."""
        exchange = exchange if exchange is not None else Exchange()
        source = self._view(self._owned(owner, task_id))
        if source.state.status != "completed":
            raise provider_error("video_not_ready", f"Task {task_id} is {source.state.status}; only a completed video "
                                 "can be remixed.", param="video_id")
        spec = self.catalog.get(source.task.model)
        if spec is None:
            raise provider_error("model_not_found", f"Task {task_id}'s model {source.task.model!r} is no longer offered.",
                                 param="video_id")
        if len(prompt) > spec.prompt_max_length:
            raise provider_error("string_above_max_length", f"prompt is too long ({len(prompt)} characters); at most "
                                 f"{spec.prompt_max_length} allowed by {spec.id}", param="prompt")
        self._apply_faults(RequestFacts("submit", owner, spec.id, prompt), exchange)
        ref = source.task.params.get("image") or {}
        try:
            image = self.videos.image(ref["sha256"]) if "sha256" in ref else None
        except MissingImage as exc:
            raise provider_error("video_expired", f"Task {task_id}'s input image is no longer in the media cache: {exc}.",
                                 param="video_id") from None
        params = {**source.task.params, "prompt": prompt}
        return self._create(owner, spec, params, image, exchange,
                            replace(origin, model_name=source.task.model_name, remixed_from=task_id))

    def delete(self, owner: str, task_id: str) -> None:
        """Forget the caller's task: later requests for it are 404s (its video stays cached for any other
        task that has the same one)."""
        self._owned(owner, task_id)
        self.store.delete_task(task_id)

    def page(self, owner: str, *, after: str | None, limit: int, newest_first: bool) -> tuple[list[TaskView], bool]:
        """The caller's tasks in submission order (or the reverse), the ``limit`` after the task ``after``, and
        whether more follow."""
        tasks = self.store.tasks(owner)
        if newest_first:
            tasks.reverse()
        if after is not None:
            position = next((n for n, task in enumerate(tasks) if task.id == after), None)
            if position is None:
                raise provider_error("task_not_found", f"No task {after!r} for this API key to list after.",
                                     param="after")
            tasks = tasks[position + 1:]
        now = self.clock.now()
        return [TaskView(task, observe(task, now)) for task in tasks[:limit]], len(tasks) > limit

    def list_models(self, owner: str, exchange: Exchange | None = None) -> Catalog:
        self._apply_faults(RequestFacts("models", owner), exchange if exchange is not None else Exchange())
        return self.catalog

    def model(self, owner: str, model_id: str, exchange: Exchange | None = None) -> ModelSpec:
        """One model of the catalog, by its id (faults for the ``models`` endpoint apply)."""
        catalog = self.list_models(owner, exchange)
        if model_id not in catalog:
            raise provider_error("unknown_model", f"The model {model_id!r} does not exist; available: "
                                 f"{', '.join(catalog)}.", param="model")
        return catalog[model_id]

    def view(self, task: Task) -> TaskView:
        """A task's state now (rendering its video first if it is due), as a poll sees it."""
        return self._view(task)

    def poll_after(self, view: TaskView) -> float:
        """Real seconds a client should wait before polling the task again (the OpenAI API sends it as
        ``openai-poll-after-ms``): the virtual time to its next change, at most 10 s of it, at the clock's
        speed. Nothing to wait for in instant mode; in manual mode time moves only when the test says, so a
        short pause keeps a polling client from spinning."""
        if view.state.finished:
            return 0.0
        state = self.clock.state()
        if state.mode == "instant":
            return 0.0
        if state.mode == "manual":
            return MANUAL_POLL_AFTER_SECONDS
        now = self.clock.now()
        task = view.task
        until = task.started_at - now if now < task.started_at else task.finishes_at - now
        return min(max(until, 0.0), MAX_POLL_AFTER_VIRTUAL_SECONDS) / state.speed

    def views(self, owner: str | None = None) -> list[TaskView]:
        """Every task (of ``owner``) now, without waiting for any render. A task that began running has its
        render started, so that a listing (the dashboard's, Kling's) sees it complete when its time comes, as
        its polls would, even in speed mode where nothing else starts it."""
        now = self.clock.now()
        tasks = [self._rendering(task, now) for task in self.store.tasks(owner)]
        return [TaskView(task, observe(task, now)) for task in tasks]

    def advance(self, seconds: float) -> float:
        """Move the virtual clock, then start renders for tasks that began running."""
        now = self.clock.advance(seconds)
        for task in self.store.tasks():
            self._rendering(task, now)
        self.webhooks.wake()
        return now

    def reset(self) -> None:
        self.store.reset()
        self.clock.reset()
        self.webhooks.wake()

    # --- signed links ------------------------------------------------------------------------------------

    def signed_query(self, task_id: str, ttl: float) -> str:
        """The query string that makes a link to ``task_id`` work, without the key, for ``ttl`` virtual s."""
        return links.signed_query(links.signing_key(self.store), task_id, self.clock.now(), ttl)

    def check_link(self, task_id: str, expires: str, signature: str) -> None:
        """403 unless ``expires``/``signature`` are a valid, unexpired signature of a link to ``task_id``."""
        links.check(links.signing_key(self.store), task_id, expires, signature, self.clock.now())

    def journal(self, method: str, path: str, query: str, status: int, exchange: Exchange,
                request_body: Any, response_body: Any, *, request_bytes: int | None = None,
                response_bytes: int | None = None) -> None:
        """Record one answered request (every dialect's views and the fast path journal through here).
        ``request_bytes``/``response_bytes`` are the bodies' sizes on the wire, when known: a body no longer
        than the journal's limit needs no measuring (a poll's answer, nearly always)."""
        limit = self.config["journal"]["max_body_chars"]
        if request_bytes is None or request_bytes > limit:
            request_body = capped(request_body, limit)
        if response_bytes is None or response_bytes > limit:
            response_body = capped(response_body, limit)
        self.store.append_journal(journal_entry(
            method=method, path=path, query=query, status=status, exchange=exchange, request_body=request_body,
            response_body=response_body, virtual_time=self.clock.now()))

    # --- helpers -------------------------------------------------------------------------------------

    def _current_view(self, task_id: str) -> TaskView | None:
        """The task as a poll sees it now, for a webhook event about to be sent (None: it was deleted)."""
        task = self.store.get_task(task_id)
        return None if task is None else self._view(task)

    def _view(self, task: Task) -> TaskView:
        now = self.clock.now()
        if not task.rendered and is_running(task, now) and is_due(task, now):
            task = self._render_if_cached(task)
            if not task.rendered:
                task = self._render_now(task)
        else:
            task = self._rendering(task, now)
        return TaskView(task, observe(task, now))

    def apply_faults_for(self, endpoint: str, owner: str, exchange: Exchange) -> None:
        """Fire the faults of a request that concerns no one task (a list, a delete): an HTTP error fault is
        raised here, the rest is left on the exchange."""
        self._apply_faults(RequestFacts(endpoint, owner), exchange)

    def _apply_faults(self, facts: RequestFacts, exchange: Exchange) -> None:
        """Fire the header's directives and the matching rules; an HTTP error fault is raised here. The
        exchange learns the request's model for the journal here too: every operation passes through."""
        exchange.endpoint = exchange.endpoint or facts.endpoint
        exchange.model = exchange.model or facts.model
        firings = [Firing("header", action) for action in exchange.header]
        fired = fire(self.rules, facts, seed=self.seed, next_match=self.store.next_id)
        for firing in fired:
            if firing.counter is not None:
                self.store.increment(fired_counter(firing.counter), 1)
        firings += fired
        error = record(exchange, firings, self.seed, facts.endpoint, max_delay=self.config["limits"]["max_delay_seconds"])
        if error is not None:
            retry_after = error.retry_after_header
            raise APIError(error.status, error.error_message, code=error.error_code,
                           headers={"Retry-After": retry_after} if retry_after else None,
                           param="prompt" if error.status == 400 else None, injected=True)

    def _plan(self, shape: JobShape, outputs: int) -> Plan:
        if shape.filter_reason is not None and shape.outcome == "complete":
            code, _ = FAILURE_REASONS["content_policy"]
            return Plan(filtered=min(shape.filtered or outputs, outputs), code=code, message=shape.filter_reason,
                        damage=shape.damage)
        if shape.outcome != "fail":
            return Plan(outcome=shape.outcome, at_progress=shape.at_progress, damage=shape.damage)
        code, message = FAILURE_REASONS[shape.reason or "upstream_error"]
        return Plan(outcome="fail", at_progress=shape.at_progress, reason=shape.reason, code=code,
                    message=shape.message or message)

    def _task_exists(self, task_id: str) -> bool:
        return self.store.get_task(task_id) is not None

    def _owned(self, owner: str, task_id: str) -> Task:
        task = self.store.get_task(task_id)
        if task is None or task.owner != owner:
            raise provider_error("task_not_found", f"No task {task_id!r} for this API key.", param="task_id")
        return task

    def _timeline(self, spec: ModelSpec, seq: int, shape: JobShape) -> tuple[float, float]:
        """Queue and render seconds: the catalog's typical times, jittered by the seed and scaled by the
        clock (zero in instant mode), unless a duration fault fixes them (which holds in every mode)."""
        if shape.total_seconds is not None:
            typical = spec.queue_seconds + spec.render_seconds
            share = spec.queue_seconds / typical if typical else 0.0
            queue = shape.queue_seconds if shape.queue_seconds is not None else shape.total_seconds * share
            queue = min(queue, shape.total_seconds)
            render = shape.total_seconds - queue
        else:
            jitter = float(self.config["clock"]["jitter"])
            scale = self.clock.scale()
            queue = spec.queue_seconds * rng.spread(self.seed, jitter, "queue", seq) * scale
            render = spec.render_seconds * rng.spread(self.seed, jitter, "render", seq) * scale
        return round(queue * shape.slow, 3), round(render * shape.slow, 3)

    def _take_image(self, params: dict[str, Any], *, may_wait: bool = True) -> tuple[bytes | None, dict[str, Any]]:
        """Validate ``image``; keep its bytes in the media cache and only a reference in the task."""
        value = params.get("image")
        if value is None:
            return None, params
        fetch = self.config["video"]["image_fetch"]
        try:
            image = parse_image(value)
            if image.url is not None and fetch["enabled"]:
                if not may_wait:
                    raise WouldWait(f"the image {image.url} is to be fetched")
                image = fetch_image(image.url, allow_hosts=fetch["allow_hosts"], allow_private_networks=fetch["allow_private_networks"],
                                    max_bytes=fetch["max_bytes"], timeout=fetch["timeout"])
        except ImageError as exc:
            raise provider_error("invalid_image", str(exc), param="image") from None
        params = dict(params)
        if image.data is None:
            params["image"] = {"url": image.url}
            return None, params
        digest = self.videos.put_image(image.data)
        params["image"] = {"sha256": digest, "format": image.format, "width": image.width, "height": image.height,
                           **({"url": image.url} if image.url else {})}
        return image.data, params

    @staticmethod
    def video_spec(model: str, params: Mapping[str, Any], image: bytes | None, output: int = 0, *,
                   audio: bool = False, damage: Damage | None = None) -> VideoSpec:
        """What to render for output ``output`` of a request (each output has a seed of its own)."""
        ref = params.get("image") or {}
        return VideoSpec(
            model=model, prompt=params.get("prompt", ""), width=params["width"], height=params["height"],
            fps=params["fps"], duration=params["duration"], seed=output_seed(params["seed"], output),
            image=image, image_url=ref.get("url") if image is None else None, audio=audio, damage=damage,
        )

    def _spec_for(self, task: Task, output: int) -> VideoSpec:
        """What to render for ``task``'s output ``output``, its input image read from the media cache
        (MissingImage if gone)."""
        ref = task.params.get("image") or {}
        image = self.videos.image(ref["sha256"]) if "sha256" in ref else None
        return self.video_spec(task.model, task.params, image, output, audio=task.audio,
                               damage=Damage.from_plan(task.plan.damage))

    def _all_cached(self, task: Task) -> bool:
        return all(self.videos.has(key) for key in task.video_keys)

    def _render_if_cached(self, task: Task) -> Task:
        if self._all_cached(task):
            return self._record_rendered(task)
        return task

    def _rendering(self, task: Task, now: float) -> Task:
        """``task``, its render started if it is running without a video (recorded as rendered if its videos
        are already cached)."""
        return task if task.rendered or not is_running(task, now) else self._start_render(task)

    def _start_render(self, task: Task) -> Task:
        """Render the task's missing videos in the background; it is rendered once the last one exists. Returns
        the task, recorded as rendered if its videos are cached already."""
        missing = [(output, key) for output, key in enumerate(task.video_keys) if not self.videos.has(key)]
        if not missing:
            return self._record_rendered(task)
        for output, key in missing:
            self._watch_render(task, output, key)
        return task

    def _watch_render(self, task: Task, output: int, key: str) -> None:
        """Start (or join) the render of the task's video ``key``, and record its outcome on the task when it
        ends: once per task and video, however often the task is observed meanwhile. Every poll of a running
        task observes it, and a callback per poll piled up: one render at 30,000 polls a second ended in
        thousands of writes of the same record, each making every process read its tasks again."""
        watch = (task.id, key)
        with self._watch_lock:
            if watch in self._watched_renders:
                return
            self._watched_renders.add(watch)

        def done(future: Any) -> None:
            with self._watch_lock:
                self._watched_renders.discard(watch)
            if future.cancelled():  # the server is shutting down; the task renders when next observed
                return
            error = future.exception()
            if error is not None:
                self._record_failure(task, error)
            elif self._all_cached(task):
                self._record_rendered(task)

        self.videos.start(key, functools.partial(self._spec_for, task, output), done)

    def _render_now(self, task: Task) -> Task:
        try:
            for output, key in enumerate(task.video_keys):
                self.videos.ensure(key, functools.partial(self._spec_for, task, output))
        except RenderError as exc:
            return self._record_failure(task, exc)
        return self._record_rendered(task)

    def _record_rendered(self, task: Task) -> Task:
        return self.store.update_task(task.id, when=_unsettled, rendered=True) or task

    def _record_failure(self, task: Task, error: BaseException) -> Task:
        log.error("render for task %s failed: %s", task.id, error)
        failure = {"code": RENDER_FAILED_CODE, "message": f"rendering the video failed: {error}", "at": self.clock.now()}
        return self.store.update_task(task.id, when=_unsettled, failure=failure) or task
