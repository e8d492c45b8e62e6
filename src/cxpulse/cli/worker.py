"""``cxpulse worker``: send invitation and reminder emails from the outbox."""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated

import typer

from cxpulse.cli.console import console
from cxpulse.cli.database import open_store, settings_for
from cxpulse.cli.options import DatabaseOption
from cxpulse.cli.root import app


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse worker\n\n"
        "CXPULSE_SMTP_HOST=smtp.example.com CXPULSE_SMTP_PORT=587 CXPULSE_SMTP_STARTTLS=true "
        "CXPULSE_SMTP_USER=cx CXPULSE_SMTP_PASSWORD=secret CXPULSE_INLINE_WORKER=false "
        "cxpulse worker\n\n"
        "cxpulse worker --once\n\n"
        "cxpulse worker --threads 4"
    ),
)
def worker(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then stop.")] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=5000, help="Items claimed per round.")
    ] = 200,
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            min=1,
            max=32,
            help="Emails sent at once, each over its own SMTP connection.",
        ),
    ] = 1,
    lock_seconds: Annotated[
        float,
        typer.Option(
            "--lock-seconds",
            min=1.0,
            max=3600.0,
            help="How long a claimed batch is held; a stopped worker's batch is taken over "
            "after this.",
        ),
    ] = 120.0,
    database: DatabaseOption = None,
) -> None:
    """Send invitation and reminder emails from the outbox until stopped (Ctrl+C).

    SMTP settings come from CXPULSE_SMTP_HOST, _PORT, _USER, _PASSWORD, _STARTTLS,
    CXPULSE_MAIL_FROM and CXPULSE_PUBLIC_URL. Run as many as you like: they never send the
    same email twice. Set CXPULSE_INLINE_WORKER=false on `cxpulse serve` when this runs.
    """
    from cxpulse.act import login_notices, loop
    from cxpulse.act.worker import OutboxWorker, drain_together
    from cxpulse.collect.links import LinkSigner
    from cxpulse.collect.sms import SmsSettings
    from cxpulse.collect.smtp import SmtpSettings
    from cxpulse.report.jobs import register

    register()  # the monthly report email is a job of the report stage
    login_notices.register()  # the email to an account whose logins were locked
    settings = settings_for(database)
    smtp = SmtpSettings.from_settings(settings)
    loop.register(SmsSettings.from_settings(settings))  # the closed loop's tasks and emails
    with open_store(settings) as sessions:
        engine = sessions.kw["bind"]
        workers = [
            OutboxWorker(
                engine,
                smtp,
                LinkSigner(settings.secret_key, previous_secret_keys=settings.previous_secret_keys),
                batch_size=batch_size,
                lock_seconds=lock_seconds,
                # One thread reads the comments: the text stage's models are large and a
                # process-wide lock would keep the others waiting anyway.
                analyse_comments=index == 0,
            )
            for index in range(threads)
        ]
        if once:
            stats = drain_together(workers)
            for each in workers:
                each.connection.close()
            console().print(
                f"sent {stats.sent:,}, skipped {stats.skipped:,}, retrying {stats.retried:,}, "
                f"failed {stats.failed:,}",
                soft_wrap=True,
            )
            return
        stop = threading.Event()

        def on_signal(signum: int, _frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        console(stderr=True).print(
            f"cxpulse worker: sending through {smtp.host}:{smtp.port} with {threads} "
            "connection(s); Ctrl+C stops it",
            soft_wrap=True,
        )
        started = time.monotonic()
        running = [
            threading.Thread(target=each.run, args=(stop,), kwargs={"idle_seconds": 1.0})
            for each in workers
        ]
        for thread in running:
            thread.start()
        while any(thread.is_alive() for thread in running):
            # Wake up now and then so that the signal handler runs in the main thread.
            for thread in running:
                thread.join(0.2)
        console(stderr=True).print(
            f"worker stopped after {time.monotonic() - started:.0f} s", soft_wrap=True
        )
