"""The read model (读模型), built from registry, scoring and enforcement events."""
