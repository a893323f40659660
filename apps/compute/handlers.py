"""How compute's host steps (and the network plugs it starts) land on its rows, in the conductor."""
from apps.core.services import (register_failure_handler, register_failure_listener, register_result_handler,
                                register_result_listener)

from . import services

register_result_handler(services.SPAWN_KIND, services._spawned)
register_failure_handler(services.SPAWN_KIND, services._spawn_failed)
register_result_handler(services.DESTROY_KIND, services._destroyed)
register_failure_handler(services.DESTROY_KIND, services._destroy_failed)
register_result_handler(services.POWER_KIND, services._power_done)
register_failure_handler(services.POWER_KIND, services._power_failed)
register_result_handler(services.SYNC_KIND, services._synced)
register_result_listener("network.port_plug", services._on_port_plugged)
register_failure_listener("network.port_plug", services._on_port_plug_failed)
