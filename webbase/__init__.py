"""The web side's ground floor: what the Django apps share and the hub's control channel.

The Redis connection, the command channel to the hub and the live state document
(``live_state``), the API's shared error shapes and paging. The apps above it (accounts,
stream clients, monitoring) import from here and never from each other's views, and nothing
here imports an app or the project package: so the web side has layers too
(docs/architecture.md).
"""
