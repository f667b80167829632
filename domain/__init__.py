"""The sales pipeline as pure Python: stages, pipelines, rules, events. No Temporal, no database."""
