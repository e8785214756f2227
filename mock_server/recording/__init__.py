"""Recording a real provider and replaying it: cassettes (one task's lifecycle each), the recording proxy, HAR
import, the checks of a recording against the contracts, and the replay.

Recording is a concern of its own, over the contracts' lifecycle table (:mod:`videomock.contracts.exchanges`):
the proxy and the HAR import feed the same :class:`~videomock.recording.cassette.Book`, and the checks and the
replay read what it wrote. Only the replay (:mod:`videomock.recording.replay`) touches the fake's app.
"""
