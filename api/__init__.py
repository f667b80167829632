"""The HTTP API: every capability of dealflow as a resource, for services in any language."""
