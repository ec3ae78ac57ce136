"""``starling bench``: the reproducible feed benchmark of docs/decisions/0007
(method and targets).

Modules: :mod:`.schedule` (open-loop arrival plans), :mod:`.histograms` (HDR latency
recording), :mod:`.population` (who reads and posts, from the real graph),
:mod:`.driver` (the load-generating processes), :mod:`.server` (the server under test
as child processes), :mod:`.scrape` (its Prometheus metrics), :mod:`.ceilings` (bare
HTTP and Redis ZADD limits), :mod:`.memory` (timeline-cache bytes per entry),
:mod:`.report` (targets, Rich table, ``results.json``), :mod:`.plots` (PNG figures)
and :mod:`.runner` (the whole run).
"""
