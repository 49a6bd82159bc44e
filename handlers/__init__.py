"""Everything Telegram: routers by audience (handlers.routers), their views, and the
outbound side.

Importing this package first imports aiogram's types to be built on demand
(handlers.types_on_demand): `bot`, `bench` and `tests` import it before anything else.
"""

from handlers import types_on_demand

types_on_demand.install()
