"""Storage: schema, migrations, sessions and repositories for SQLite and PostgreSQL.

- ``db``: engines (``create_engine_for``), ``migrate``, ``session_factory``.
- ``models``: the tables; ``migrations/``: how they came to be.
- ``accounts``, ``surveys``, ``contacts``, ``responses``, ``audit``: repositories. Each
  function takes a Session and the caller's organisation id first and never sees another
  organisation's rows; none commits, the caller owns the transaction.
- ``rollups``: daily histograms kept equal to a recount; ``metrics_query``: histograms and
  scores counted by the database.
- ``security``: password hashes and API key material; ``errors``: what repositories raise.
"""
