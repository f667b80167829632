"""The read side: the catch-up projector and its read models, one module per report."""
