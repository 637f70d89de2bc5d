"""The optional nginx edge (``moai-adk platform serve --edge nginx``).

nginx listens on the public address and answers plain file hits itself with
sendfile; everything else goes to the Python app on a loopback port, so the
platform's semantics stay the app's.

On disk, under ``<data>/edge``:

* ``trees/<deploy>/<path>``: hard links to the blob files (plus ``<path>.gz``
  links to gzip variants) of ready deployments WITHOUT rule files; built under
  a temp name and renamed into place;
* ``sites/<site>/<deploy>``: symlink to ``../../trees/<deploy>`` (the
  ``<deploy>.<site>.<domain>`` host form checks the site this way);
* ``live/<site>``: symlink to ``../trees/<deploy>``, the production the edge
  serves; replaced atomically on promote/rollback and removed while the site
  has a traffic split or its production has no tree (rules), so those
  requests fall through to the app;
* ``nginx.conf``, ``error.log``, ``nginx.pid``, ``tmp/``: see ``edge_nginx.py``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .rules import RULE_FILES
from .store import BlobStore, is_compressible
from .views import content_type


class Edge:
    """The nginx edge's file trees and production symlinks for one data folder."""

    def __init__(self, data_dir: Path, store: BlobStore) -> None:
        self.root = data_dir / "edge"
        self.trees = self.root / "trees"
        self.live = self.root / "live"
        self.by_site = self.root / "sites"
        self.store = store
        for folder in (self.trees, self.live, self.by_site):
            folder.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def servable(files: Mapping[str, Sequence[Any]]) -> bool:
        """Whether nginx may serve this deployment's files as they are: no rule
        files, and no path whose ``.gz`` twin is also a file (gzip_static would
        take it for a compressed variant)."""
        return not any(p in files for p in RULE_FILES) and not any(p + ".gz" in files for p in files)

    def has_tree(self, deploy_id: str) -> bool:
        return (self.trees / deploy_id).is_dir()

    def materialize(self, deploy_id: str, site: str, files: Mapping[str, Sequence[Any]]) -> bool:
        """Build ``trees/<deploy>`` for a finalized deployment; False when nginx
        must not serve it (rules, conflicting paths, links impossible)."""
        if not self.servable(files):
            return False
        final = self.trees / deploy_id
        if not final.is_dir():
            tmp = self.trees / f".tmp-{deploy_id}-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                self._link_all(tmp, files)
                os.rename(tmp, final)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                if not final.is_dir():  # a file/folder clash in the manifest, or another disk
                    return False
        try:
            self._symlink(self.by_site / site / deploy_id, f"../../trees/{deploy_id}")
        except OSError:  # the <deploy>.<site> host form then falls through to the app
            return False
        return True

    def _link_all(self, tmp: Path, files: Mapping[str, Sequence[Any]]) -> None:
        tmp.mkdir()
        base = str(tmp)
        made: set[str] = set()
        for path, info in files.items():
            sha, gz = str(info[0]), int(info[2]) if len(info) > 2 else 0
            dest = f"{base}/{path}"
            folder = os.path.dirname(dest)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            _link(self.store.fspath(sha), dest)
            if gz > 0 and is_compressible(content_type(path)):
                with contextlib.suppress(FileNotFoundError):
                    _link(self.store.fspath(sha, "gz"), dest + ".gz")

    def set_live(self, site: str, deploy_id: str | None) -> None:
        """Point ``live/<site>`` at the deployment's tree, or remove it (the app answers)."""
        link = self.live / site
        if deploy_id is None or not self.has_tree(deploy_id):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(link)
            return
        self._symlink(link, f"../trees/{deploy_id}")

    @staticmethod
    def _symlink(link: Path, target: str) -> None:
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.parent / f".tmp-{link.name}-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(target, tmp)
        os.replace(tmp, link)

    def sync(self, platform: Any) -> int:
        """At startup: trees for every ready deployment, symlinks from the DB. Returns trees made."""
        made = 0
        for deploy_id, site in platform.meta.query("SELECT id, site FROM deploys WHERE state = 'ready'"):
            if self.has_tree(deploy_id):
                continue
            files, _ = platform.meta.deploy_files(deploy_id)
            made += self.materialize(deploy_id, site, files)
        for info in platform.meta.sites():
            self.set_live(info["name"], None if info["traffic"] else info["production"])
        return made


def _link(src: str, dest: str) -> None:
    try:
        os.link(src, dest)
    except OSError as exc:
        if exc.errno != errno.EMLINK:  # a blob linked by too many deployments: copy it
            raise
        shutil.copyfile(src, dest)
