"""A loopback index for a folder that does not change while it is served: pages are built once, then reused.

The test-support LoopbackIndex lists the folder on every request, which is right for tests that
add files on the fly but makes a 3,000-wheel index slow enough to measure the server instead of
the clients. This subclass caches the project map and the rendered pages; the request log is the
same (counts and bytes per request).
"""

from __future__ import annotations

import threading

from tests.support.index_server import LoopbackIndex


class StaticIndex(LoopbackIndex):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._static_lock = threading.Lock()
        self._projects_cache: dict | None = None
        self._pages: dict[tuple[str, bool], bytes] = {}

    def projects(self):
        with self._static_lock:
            if self._projects_cache is None:
                self._projects_cache = super().projects()
            return self._projects_cache

    def render_project(self, project, files, as_json):
        key = (project, as_json)
        page = self._pages.get(key)
        if page is None:
            page = super().render_project(project, files, as_json)
            self._pages[key] = page
        return page

    def render_project_list(self, as_json):
        key = ("<list>", as_json)
        page = self._pages.get(key)
        if page is None:
            page = super().render_project_list(as_json)
            self._pages[key] = page
        return page

    def warm(self) -> StaticIndex:
        """List the folder and read every file's metadata now, not during the first timed run."""
        for project, files in self.projects().items():
            self.render_project(project, files, True)
            self.render_project(project, files, False)
        return self
