"""Read the platform link files providers keep in the project
(``.vercel/project.json``, ``.netlify/state.json``) with a clear error when
one is corrupt. Writing them is ``project.files``' job (atomic).
"""

from __future__ import annotations

from ..fsutil import read_json_object as read_json_file

__all__ = ["read_json_file"]
