"""The commands that score files, registered in the order ``cxpulse --help`` lists them.

Each command lives in a module of its own (``score_command``, ``compare_command``,
``samplesize_command``, ``benchmark_command``, ``demo_file_command``); importing this module
registers them all. ``cxpulse score`` loads only ``score_command`` (see ``COMMAND_MODULES``):
its start-up is part of what docs/benchmarks.md times.
"""

from __future__ import annotations

# Imported for their registration on the app, in the order of the help listing (not sorted).
# isort: off
from cxpulse.cli import score_command  # noqa: F401
from cxpulse.cli import compare_command  # noqa: F401
from cxpulse.cli import samplesize_command  # noqa: F401
from cxpulse.cli import benchmark_command  # noqa: F401
from cxpulse.cli import demo_file_command  # noqa: F401

# isort: on
