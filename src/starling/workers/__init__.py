"""Workers: the event consumers of a Starling process.

:mod:`.consumers` names every consumer group and the service that handles its events;
:mod:`.delivery` is the one delivery loop (batch or one by one, retries with back-off,
dead letters) that both event logs run those handlers in. Handlers are idempotent: an
event may be delivered twice.
"""
