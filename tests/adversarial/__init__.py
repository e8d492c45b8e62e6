"""Adversarial tests that stay (issue 10, point 7).

Hostile values at every door (API, widget, survey form, import file, command line), each
either refused with a message naming the field or shown escaped and intact everywhere it is
shown again (dashboard, drill-down, report, exports, emails); a cross-organisation matrix over
every route of the app; and a stateful schemathesis run over the whole API. Budgets are fixed
and examples derandomised, so a run in CI is the same run as on a laptop.
"""
