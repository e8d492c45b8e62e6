"""Connections to the engines ``cxpulse score --engine`` runs on, and files and tables in them.

- ``duckdb``: an in-process DuckDB through Ibis (a database file when one is named).
- ``postgres``: a PostgreSQL database from a URL (SQLAlchemy's ``postgresql+psycopg://`` is
  accepted: the driver part is dropped, psycopg connects).
- ``spark``: Apache Spark in local mode (``local[N]``), UI off and few shuffle partitions, so
  that one machine starts it in seconds; a cluster needs only another master URL (see
  docs/engines.md). It needs the ``spark`` extra (pyspark) and Java 17 or later.

Every connection works in UTC, so timestamps fall in the same days on every engine.

BigQuery, ClickHouse, Snowflake, Trino and the other Ibis backends take the same path: an
``ibis.<backend>.connect(...)`` table handed to
:func:`cxpulse.engine.portable.histograms_from_table`. They are not wired to the command line
nor tested here.

Ibis and pyspark are imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from cxpulse.engine.errors import FileInputError
from cxpulse.engine.sources import FORMATS

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

__all__ = [
    "ENGINE_NAMES",
    "EngineName",
    "connect",
    "local_spark_session",
    "read_file",
    "read_table",
    "spark_problem",
]

EngineName = Literal["duckdb", "postgres", "spark"]
"""The engines the command line runs on."""
ENGINE_NAMES: tuple[EngineName, ...] = get_args(EngineName)

SPARK_SHUFFLE_PARTITIONS = 4
"""Spark's shuffle partitions in local mode: its default of 200 costs seconds of task start-up
for a result of a few hundred rows."""


def spark_problem() -> str | None:
    """Why Spark cannot start here (no pyspark, no Java), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "the spark engine needs pyspark: pip install 'cxpulse[spark]'"
    # pyspark starts the JVM through the ``java`` on the PATH (or its own JAVA_HOME, which
    # is pyspark's to read: cxpulse reads no environment outside its settings).
    if shutil.which("java") is None:
        return "the spark engine needs Java 17 or later (java was not found on the PATH)"
    return None


def local_spark_session(
    threads: int = 1, *, warehouse: str | Path | None = None, memory: str = "1g"
) -> Any:
    """A SparkSession in local mode with ``threads`` threads, in UTC, its UI off.

    Spark keeps one session per process: a second call returns the first session (whatever
    its settings). ``warehouse`` is where its catalog keeps tables (``--table``).
    """
    problem = spark_problem()
    if problem is not None:
        raise FileInputError(problem)
    from pyspark.sql import SparkSession

    # Local mode talks to itself only: bind to the loopback address, not the machine's.
    builder = (
        SparkSession.builder.master(f"local[{threads}]")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .appName("cxpulse")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(SPARK_SHUFFLE_PARTITIONS))
        .config("spark.default.parallelism", str(threads))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", memory)
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
    )
    if warehouse is not None:
        builder = builder.config("spark.sql.warehouse.dir", str(Path(warehouse).resolve()))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def postgres_conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy one: ``postgresql+psycopg://`` becomes ``postgresql://``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise FileInputError(f"the postgres engine needs a postgresql:// URL, not {scheme}://")
    return f"postgresql://{rest}"


@contextmanager
def connect(
    engine: EngineName, *, database: str | None = None, spark_session: Any = None
) -> Iterator[BaseBackend]:
    """An Ibis connection to ``engine``, closed afterwards (a Spark session is kept).

    ``database``: a DuckDB database file (default in memory), a PostgreSQL URL (required),
    or a Spark warehouse directory. ``spark_session`` reuses a running session.
    """
    import ibis

    if engine == "duckdb":
        backend: BaseBackend = ibis.duckdb.connect(database or ":memory:")
        backend.raw_sql("SET TimeZone = 'UTC'")
    elif engine == "postgres":
        if not database:
            raise FileInputError("the postgres engine needs --database URL or CXPULSE_DATABASE_URL")
        import psycopg

        try:
            raw = psycopg.connect(postgres_conninfo(database), autocommit=True)
        except psycopg.OperationalError as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else "unreachable"
            raise FileInputError(f"cannot connect to PostgreSQL: {first}") from None
        raw.execute("SET TIME ZONE 'UTC'")
        backend = ibis.postgres.from_connection(raw)
    elif engine == "spark":
        session = spark_session or local_spark_session(warehouse=database)
        backend = ibis.pyspark.connect(session)
    else:  # pragma: no cover - the command line offers only the names above
        raise FileInputError(f"unknown engine {engine!r}; known: {', '.join(ENGINE_NAMES)}")
    try:
        yield backend
    finally:
        if engine != "spark":
            backend.disconnect()


def read_file(backend: BaseBackend, engine: EngineName, path: str | Path) -> ir.Table:
    """A survey file (Parquet, CSV/TSV, JSON lines) as a table of ``backend``.

    DuckDB and Spark read the file with their own readers (a folder or glob of Parquet files
    too). PostgreSQL cannot read files: DuckDB reads it and its rows are copied into a
    temporary table of the session. Workbooks are read by the file path only.
    """
    file = Path(path)
    kind = FORMATS.get(file.suffix.lower(), "parquet" if file.is_dir() else None)
    if kind is None or kind == "xlsx":
        raise FileInputError(
            f"the {engine} engine reads Parquet, CSV and JSON lines files, not {file.name}; "
            "score workbooks without --engine"
        )
    if not file.exists() and not any(char in str(file) for char in "*?["):
        raise FileInputError(f"file not found: {file}")
    if engine == "postgres":
        import ibis

        with connect("duckdb") as local:
            rows = read_file(local, "duckdb", file).to_pyarrow()
        name = ibis.util.gen_name("cxpulse_file")
        return backend.create_table(name, rows, temp=True)
    if file.is_dir():
        # A folder of Parquet files, such as a partition of ``cxpulse export-parquet``: its
        # ``key=value`` sub-folders become columns.
        if engine == "spark":
            return backend.read_parquet(str(file))
        return backend.read_parquet(str(file / "**" / "*.parquet"), hive_partitioning=True)
    where = str(file)
    if kind == "parquet":
        return backend.read_parquet(where)
    if kind == "jsonl":
        return backend.read_json(where)
    options: dict[str, Any] = {}
    if file.suffix.lower() == ".tsv":
        options = {"sep": "\t"} if engine == "spark" else {"delim": "\t"}
    return backend.read_csv(where, **options)


def read_table(backend: BaseBackend, name: str) -> ir.Table:
    """The table (or view) ``name`` of ``backend``; ``schema.table`` names another schema."""
    schema, _, table = name.rpartition(".")
    try:
        if schema:
            return backend.table(table, database=schema)
        return backend.table(table)
    except Exception as error:  # each backend raises its own "no such table"
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FileInputError(f"cannot read table {name!r}: {first}") from None
