"""The environment `safegrid dev` gives the processes it starts."""

from services.devrun import EMBEDDED_FETCH_MAX_WAIT_MS, child_env


def test_with_the_embedded_broker_consumers_ask_for_a_short_fetch_wait():
    env = child_env(19092, embedded_broker=True, base={})
    assert env["SAFEGRID_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert env["SAFEGRID_KAFKA_FETCH_MAX_WAIT_MS"] == EMBEDDED_FETCH_MAX_WAIT_MS == "50"


def test_a_broker_found_listening_keeps_the_default_and_the_developers_own_setting_wins():
    assert "SAFEGRID_KAFKA_FETCH_MAX_WAIT_MS" not in child_env(9092, embedded_broker=False, base={})
    assert child_env(9092, embedded_broker=True, base={"SAFEGRID_KAFKA_FETCH_MAX_WAIT_MS": "200"})[
        "SAFEGRID_KAFKA_FETCH_MAX_WAIT_MS"] == "200"
