"""Webhook deliveries: the events a task's lifecycle sends to the URLs that asked for them.

- :mod:`~videomock.core.webhooks.events`: targets, shapes (how each API's callbacks look, given by its dialect
  adapter) and the events a task's timeline passes through;
- :mod:`~videomock.core.webhooks.schedule`: the retry schedule and where deliveries may go;
- :mod:`~videomock.core.webhooks.signing`: Standard Webhooks signatures and the signing secrets;
- :mod:`~videomock.core.webhooks.faults`: what the delivery faults of a job do to each of its events;
- :mod:`~videomock.core.webhooks.engine`: planning a task's deliveries, and the background sender.
"""
