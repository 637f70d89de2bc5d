"""Deployment indexes (``DeployView``: the file map and compiled rules the serving
path reads) and the cache that keeps them, bounded by the memory they take.

Building the index of a 20,000-file deployment takes tens of milliseconds of
Python; the serving path never does it on the event loop: ``Platform.ready_view``
raises ``IndexNotLoaded`` when the index is not cached, and the server builds it
on a worker thread (``ViewCache.get``) before answering. Requests for the same
deployment arriving meanwhile wait for that one build instead of repeating it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .views import DeployView, FileEntry

FILE_BYTES = 400  # one served file in an index: its FileEntry, hashes, ETag, dict slot (measured ~350)
VIEW_BYTES = 1 << 20  # per index: rules and the bounded cache of resolved request paths
DEFAULT_BUDGET = 128 << 20


def build_view(deploy_id: str, site: str, files: dict[str, list[Any]], rules: dict[str, Any] | None,
               base: DeployView | None = None) -> DeployView:
    """The index of a deployment. With ``base`` (another index of the site, e.g. production's), the
    entries whose path and recorded [sha, size, gz, br] are the same are taken from it as they are
    (an entry depends on nothing else), so a redeploy that changed a few files builds a few entries."""
    if base is None:
        return DeployView(deploy_id, site, files, rules)
    old = base.files
    fresh: dict[str, list[Any]] = {}
    kept: dict[str, FileEntry] = {}
    for path, info in files.items():
        entry = old.get(path)
        if (entry is not None and len(info) >= 4 and entry.sha == info[0] and entry.size == info[1]
                and entry.gz == info[2] and entry.br == info[3]):
            kept[path] = entry
        else:
            fresh[path] = info
    view = DeployView(deploy_id, site, fresh, rules)
    kept.update(view.files)
    view.files = kept
    return view


class IndexNotLoaded(Exception):
    """The index of ``deploy_id`` must be built (off the event loop) before this request is answered."""

    def __init__(self, deploy_id: str) -> None:
        super().__init__(deploy_id)
        self.deploy_id = deploy_id


def index_bytes(view: DeployView) -> int:
    """An estimate of the memory ``view`` holds."""
    return VIEW_BYTES + sum(FILE_BYTES + len(path) for path in view.files)


class ViewCache:
    """Loaded deployment indexes, most recently used kept, their estimated memory within
    ``budget`` bytes (the newest one stays even when it alone is larger)."""

    def __init__(self, loader: Callable[[str], DeployView], budget: int = DEFAULT_BUDGET) -> None:
        self.loader = loader
        self.budget = budget
        self.used = 0
        self._views: OrderedDict[str, tuple[DeployView, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Event] = {}

    def get(self, deploy_id: str) -> DeployView:
        """The index of ``deploy_id``, built by this thread or by the one already building it."""
        while True:
            with self._lock:
                held = self._views.get(deploy_id)
                if held is not None:
                    self._views.move_to_end(deploy_id)
                    return held[0]
                waiting = self._loading.get(deploy_id)
                if waiting is None:
                    done = self._loading[deploy_id] = threading.Event()
                    break
            waiting.wait()  # another thread builds it; then look again (it may have failed)
        try:
            view = self.loader(deploy_id)
            self._add(deploy_id, view)
            return view
        finally:
            with self._lock:
                del self._loading[deploy_id]
            done.set()

    def _add(self, deploy_id: str, view: DeployView) -> None:
        cost = index_bytes(view)
        with self._lock:
            old = self._views.pop(deploy_id, None)
            if old is not None:
                self.used -= old[1]
            self._views[deploy_id] = (view, cost)
            self.used += cost
            while len(self._views) > 1 and self.used > self.budget:
                _, (_, freed) = self._views.popitem(last=False)
                self.used -= freed

    def peek(self, deploy_id: str) -> DeployView | None:
        held = self._views.get(deploy_id)
        return held[0] if held is not None else None

    def __len__(self) -> int:
        return len(self._views)
