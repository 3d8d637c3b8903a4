"""What crosses a service boundary: the vocabulary every service speaks (``vocabulary``) and, per
producing service, the events it publishes with their data models. ``catalogue`` lists them all."""
