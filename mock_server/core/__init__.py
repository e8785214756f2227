"""The domain core: tasks and their lifecycle, the virtual clock, faults, limits and journal entries.

Nothing here knows HTTP (import-linter checks it): the backend takes parsed requests and returns views or
raises :class:`~videomock.core.errors.APIError`, and every dialect adapter renders those its own way.
"""
