"""Events: the CloudEvents envelope, the catalogue of event types, the outbox, its relay and the
consumer runner."""
