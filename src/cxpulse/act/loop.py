"""The closed loop's tasks, registered with the worker (``act.tasks.TASKS``).

The worker (``act.outbox_worker``) imports this module, so every process that runs a worker
knows every kind of task. Each module below registers its own kinds when imported.
"""

from __future__ import annotations

__all__: list[str] = []
