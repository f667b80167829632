"""The fault suite: servers of its own, killed and restarted under a working team (make faults)."""
