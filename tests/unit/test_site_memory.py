"""Site models keep their values in key-sharing dicts: smaller, and a dict like any other."""

from __future__ import annotations

import copy
import pickle
import sys

from rules.site import Device, Household

DOOR = {"id": "door-h1", "kind": "door", "protocol": "zigbee2mqtt", "address": "h1_door"}


def test_a_models_values_take_less_than_a_dict_of_its_own() -> None:
    """(The keys are counted in a dict's size while only one dict holds them: three do.)"""
    doc = {"id": "h1", "address": "一号楼", "devices": [DOOR]}
    households = [Household.model_validate(doc) for _ in range(3)]
    for model in (households[-1], households[-1].devices[0]):
        assert sys.getsizeof(model.__dict__) < sys.getsizeof(dict(model.__dict__))


def test_the_shared_dict_reads_copies_and_changes_like_any_other() -> None:
    device = Device.model_validate(DOOR)
    assert device.model_dump(exclude_unset=True) == DOOR
    assert device == Device(**DOOR)  # type: ignore[arg-type]
    moved = device.model_copy(update={"address": "h1_front"})
    assert (moved.address, device.address) == ("h1_front", "h1_door")
    assert copy.deepcopy(device) == device
    assert pickle.loads(pickle.dumps(device)) == device
    device.address = "h1_back"
    assert device.wire_address() == "h1_back"
    assert Device.model_validate(DOOR).address == "h1_door"
