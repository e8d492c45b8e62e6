"""The act stage: background work drained from the outbox (invitation emails, reminders)."""
