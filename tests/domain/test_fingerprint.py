"""Fingerprints: which artifacts are equal and which executions did the same work."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from modeltrail.domain.fingerprint import (
    artifact_fingerprint,
    canonical_json,
    execution_fingerprint,
    work_inputs,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


def artifact(**changes: Any) -> str:
    fields: dict[str, Any] = {
        "name": "mnist",
        "version": "1",
        "kind": "dataset",
        "description": None,
        "uri": "s3://data/mnist.npz",
        "annotations": {"owner": "ana"},
        "attributes": {"classes": 10, "split": {"train": 0.8, "test": 0.2}},
    }
    return artifact_fingerprint(**{**fields, **changes})


def test_equal_artifacts_are_equal_whatever_their_ids() -> None:
    assert artifact(id=uuid.uuid4()) == artifact(id=uuid.uuid4()) == artifact()


def test_every_stored_field_but_the_id_counts() -> None:
    base = artifact()
    for change in (
        {"name": "emnist"},
        {"version": "2"},
        {"kind": "model"},
        {"description": "digits"},
        {"uri": None},
        {"annotations": {}},
        {"attributes": {"classes": 26, "split": {"train": 0.8, "test": 0.2}}},
    ):
        assert artifact(**change) != base, change


def test_a_trigger_is_its_own_event() -> None:
    """Two manual triggers with the same attributes are two events."""
    first, second = uuid.uuid4(), uuid.uuid4()
    event = {"kind": "event", "attributes": {"cause": "manual"}}
    assert artifact(id=first, **event) != artifact(id=second, **event)
    assert artifact(id=first, **event) == artifact(id=first, **event)


@given(st.dictionaries(st.text(max_size=4), JSON, max_size=5))
def test_member_order_does_not_matter(attributes: dict[str, Any]) -> None:
    reversed_ = dict(reversed(list(attributes.items())))
    assert artifact(attributes=attributes) == artifact(attributes=reversed_)
    assert canonical_json(attributes) == canonical_json(reversed_)


def work(**changes: Any) -> str:
    fields: dict[str, Any] = {
        "executable_name": "train.py",
        "executable_version": "1",
        "executable_uri": "git+https://example.org/repo@abc",
        "kind": "train",
        "configuration": {"learning-rate": 0.01, "epochs": 10},
        "input_fingerprints": ["a" * 64, "b" * 64],
    }
    return execution_fingerprint(**{**fields, **changes})


def test_the_same_work_whatever_the_order_of_inputs_and_settings() -> None:
    assert work() == work(
        input_fingerprints=["b" * 64, "a" * 64],
        configuration={"epochs": 10, "learning-rate": 0.01},
    )


def test_executable_kind_configuration_and_inputs_make_the_work() -> None:
    base = work()
    for change in (
        {"executable_name": "train2.py"},
        {"executable_version": "2"},
        {"executable_uri": None},
        {"kind": "evaluate"},
        {"configuration": {"learning-rate": 0.001, "epochs": 10}},
        {"input_fingerprints": ["a" * 64]},
        {"input_fingerprints": ["a" * 64, "b" * 64, "b" * 64]},
    ):
        assert work(**change) != base, change


def test_what_triggered_a_run_is_not_part_of_the_work() -> None:
    manual = artifact(id=uuid.uuid4(), kind="event", attributes={"cause": "manual"})
    schedule = artifact(id=uuid.uuid4(), kind="event", attributes={"cause": "schedule"})
    data = artifact()
    for trigger in (manual, schedule):
        inputs = work_inputs([("event", trigger), ("dataset", data)])
        assert inputs == [data]
    assert work(input_fingerprints=work_inputs([("event", manual), ("dataset", data)])) == work(
        input_fingerprints=work_inputs([("event", schedule), ("dataset", data)])
    )
