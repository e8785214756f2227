"""Faults: what can go wrong with a request or a job, when it does, and what it does.

- :mod:`~videomock.core.faults.actions`: the typed actions, with the config schema's defaults;
- :mod:`~videomock.core.faults.rules`: rules from the config, and when they fire (seeded);
- :mod:`~videomock.core.faults.header`: the ``X-Videomock-Fault`` header's grammar;
- :mod:`~videomock.core.faults.decision`: what the firings do to an exchange, a job and the wire.
"""
