"""The topics of contract.md §4: one per producing service and aggregate, each with a DLQ."""

TOPICS: tuple[str, ...] = (
    "registry.enterprises",
    "registry.equipment",
    "registry.operators",
    "registry.accidents",
    "registry.jurisdictions",
    "inspection.tasks",
    "inspection.records",
    "inspection.hazards",
    "scoring.scores",
    "enforcement.alerts",
    "enforcement.patrols",
    "enforcement.cases",
    "portal.reports",
    "portal.ratings",
)

DEFAULT_PARTITIONS = 6


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics() -> list[str]:
    return [name for topic in TOPICS for name in (topic, dlq_topic(topic))]
