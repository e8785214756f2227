"""API dialects: one adapter per API that real clients speak, over the one domain core.

An adapter owns its routes, the mapping of its requests onto the catalog's canonical generation request,
the rendering of a task and of an error in its own shape, its auth scheme and its id format; everything
else (catalog rules, clock, faults, limits, store, journal, rendering) is the core's and works the same
through every dialect.
"""
