"""``EventLog`` on NATS JetStream: the scale-out event log (docs/architecture.md, "Ports
and adapters").

Three parts, each optional per process (``relay=``, ``consume=``), on one connection
(:mod:`.connection`) and one pair of streams (:mod:`.streams`):

- **Relay** (:mod:`.relay`): committed outbox rows -> the stream ``<stream>``, on
  subject ``<prefix>.<event type>``, de-duplicated by ``Nats-Msg-Id: <event_id>``.
- **Consumers** (:mod:`.consumer`): one durable pull consumer per subscribed group,
  ``<stream>_<group>``; fetched messages go through the delivery loop shared with the
  embedded event log (:mod:`starling.workers.delivery`: batch, else one by one with
  retries in place, then a dead letter).
- **Dead letters** (:mod:`.dead_letters`): the stream ``<stream>_DLQ``; listing and
  replaying them.

:class:`JetStreamEventLog` (:mod:`.event_log`) puts them together behind the port.
"""

from starling.adapters.jetstream.connection import NatsUnavailable
from starling.adapters.jetstream.dead_letters import JetStreamDeadLetter
from starling.adapters.jetstream.event_log import JetStreamEventLog
from starling.adapters.jetstream.relay import RELAY

__all__ = ["RELAY", "JetStreamDeadLetter", "JetStreamEventLog", "NatsUnavailable"]
