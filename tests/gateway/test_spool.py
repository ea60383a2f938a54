import json
import os

import pytest

from gateway.spool import Spool


def event(n: int) -> dict:
    return {"idempotency_key": f"appel-{n}", "api_key": "iaf_x", "model": "gpt-4.1"}


def keys(events: list[dict]) -> list[str]:
    return [e["idempotency_key"] for e in events]


def test_pending_events_survive_a_restart_in_journal_order(tmp_path):
    spool = Spool(tmp_path / "spool.jsonl")
    for n in (3, 1, 2):
        spool.append(event(n))
    spool.mark_done(["appel-1"])
    spool.close()

    reopened = Spool(tmp_path / "spool.jsonl")

    assert keys(reopened.pending()) == ["appel-3", "appel-2"]


def test_a_torn_last_line_is_ignored_and_cut_off(tmp_path):
    path = tmp_path / "spool.jsonl"
    spool = Spool(path)
    spool.append(event(1))
    spool.close()
    with open(path, "a") as file:
        file.write('{"op":"event","event":{"idempotency_key":"appel-2","api')

    reopened = Spool(path)
    reopened.append(event(3))
    reopened.close()

    assert keys(Spool(path).pending()) == ["appel-1", "appel-3"]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_a_torn_done_line_leaves_its_events_pending(tmp_path):
    path = tmp_path / "spool.jsonl"
    spool = Spool(path)
    spool.append(event(1))
    spool.close()
    with open(path, "a") as file:
        file.write('{"op":"done","keys":["appel-1"')

    assert keys(Spool(path).pending()) == ["appel-1"]


def test_the_same_idempotency_key_is_spooled_once(tmp_path):
    spool = Spool(tmp_path / "spool.jsonl")

    spool.append(event(1))
    spool.append(event(1))

    assert len(spool) == 1
    assert len((tmp_path / "spool.jsonl").read_text().splitlines()) == 1


def test_the_journal_is_compacted_to_nothing_once_everything_is_done(tmp_path):
    path = tmp_path / "spool.jsonl"
    spool = Spool(path)
    for n in range(5):
        spool.append(event(n))

    spool.mark_done(keys(spool.pending(3)))
    assert len(path.read_text().splitlines()) == 6  # 5 events + 1 done line

    spool.mark_done(keys(spool.pending()))
    spool.append(event(9))
    spool.close()

    lines = path.read_text().splitlines()
    assert [json.loads(line)["event"]["idempotency_key"] for line in lines] == ["appel-9"]


def test_the_journal_is_readable_only_by_its_owner(tmp_path):
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append(event(1))

    assert os.stat(tmp_path / "spool.jsonl").st_mode & 0o777 == 0o600


def test_each_process_claims_its_own_journal_and_a_free_one_is_taken_again(tmp_path):
    first = Spool.claim(tmp_path)
    second = Spool.claim(tmp_path)
    assert {first.path.name, second.path.name} == {"spool-0.jsonl", "spool-1.jsonl"}
    first.append(event(1))
    first.close()

    again = Spool.claim(tmp_path)

    assert again.path.name == "spool-0.jsonl"
    assert keys(again.pending()) == ["appel-1"]


@pytest.mark.parametrize("cut", range(1, 60, 7))
def test_a_crash_at_any_byte_of_the_last_write_loses_no_earlier_event(tmp_path, cut):
    path = tmp_path / "spool.jsonl"
    spool = Spool(path)
    spool.append(event(1))
    spool.append(event(2))
    spool.close()
    whole = path.read_bytes()
    last_line_start = whole.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(whole[: last_line_start + cut])

    assert keys(Spool(path).pending()) == ["appel-1"]
