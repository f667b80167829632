"""The write side's storage: the event store, its migrations, the outbox and the compiled briefs."""
