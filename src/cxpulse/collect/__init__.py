"""Collect: the ways responses come in. For now, bulk import of survey exports (``imports``).

- :mod:`cxpulse.collect.mapping` parses ``--map score=COL,comment=COL,...``;
- :mod:`cxpulse.collect.presets` knows the column names of Zendesk, Typeform, SurveyMonkey
  and Qualtrics exports;
- :mod:`cxpulse.collect.imports` reads and checks a file inside DuckDB, then stores it in one
  transaction (:mod:`cxpulse.collect.bulk` is the lean insert path).
"""
