"""Reference-process files (dataset: reference_process) with bad input: one clear sentence, nothing written — the
stored reference and the load history stay as they were. And a good file loads once, is skipped unchanged, and
replaces only the case types it names; `landdesk etl undo` takes it back out."""
import pytest
import yaml
from sqlalchemy import func, select

from etl import schema as S
from etl.load import load_mapping
from etl.reference import stored_reference
from etl.undo import undo_batch
from landdesk.errors import LandDeskError

from etl_helpers import cli_load

GOOD = {"dataset": "reference_process", "case_types": {
    "许可": {"stages": [{"stage": "受理", "limit_workdays": 1}, "审查", {"stage": "决定"}]},
    "登记": {"stages": ["受理", "登簿"]}}}


def _types(stages, moves=None):
    spec = {"stages": stages}
    if moves is not None:
        spec["moves"] = moves
    return {"dataset": "reference_process", "case_types": {"许可": spec}}


BAD = {
    "no case types": ({"dataset": "reference_process"}, "`case_types` must map"),
    "empty stages": (_types([]), "needs a non-empty `stages` list"),
    "limit not a number": (_types([{"stage": "受理", "limit_workdays": "三天"}]), "use a positive number"),
    "negative limit": (_types([{"stage": "受理", "limit_workdays": -1}]), "use a positive number"),
    "mandatory not boolean": (_types([{"stage": "受理", "mandatory": "yes"}]), "use true or false"),
    "stage twice": (_types(["受理", "受理"]), "lists stage '受理' twice"),
    "unknown stage key": (_types([{"stage": "受理", "limit": 3}]), "unknown key(s) limit"),
    "move to unknown stage": (_types(["受理", "审查"], ["审查 -> 补正"]), "naming stage '补正'"),
    "move without arrow": (_types(["受理", "审查"], ["审查 补正"]), "write a move as 'FROM -> TO'"),
    "unknown top key": ({**GOOD, "stage": []}, "unknown key(s) stage"),
}


def _write(tmp_path, doc, name="reference.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _state(engine):
    with engine.connect() as conn:
        batches = conn.execute(select(func.count()).select_from(S.etl_batches)).scalar_one()
        ref = stored_reference(conn)
    limits = ref["limit_workdays"].astype(object).where(ref["limit_workdays"].notna(), None)
    return batches, ref.assign(successors=ref["successors"].map(tuple), limit_workdays=limits).to_dict("records")


@pytest.mark.parametrize("name", list(BAD))
def test_bad_reference_is_one_sentence_and_changes_nothing(engine, tmp_path, name):
    doc, words = BAD[name]
    assert load_mapping(engine, _write(tmp_path, GOOD, "good.yaml")).status == "loaded"
    before = _state(engine)
    with pytest.raises(LandDeskError) as err:
        load_mapping(engine, _write(tmp_path, doc))
    message = str(err.value)
    assert words in message and "\n" not in message and message.startswith("Reference process reference.yaml:")
    assert _state(engine) == before


def test_malformed_yaml_is_one_sentence(engine, tmp_path):
    path = tmp_path / "reference.yaml"
    path.write_text("dataset: reference_process\ncase_types: {许可: [\n", encoding="utf-8")
    with pytest.raises(LandDeskError) as err:       # not recognisable as a reference file: the mapping reader says so
        load_mapping(engine, path)
    assert "malformed" in str(err.value) and "\n" not in str(err.value)


def test_cli_bad_reference_exits_non_zero_with_one_line(tmp_path):
    run = cli_load(tmp_path, _write(tmp_path, _types([{"stage": "受理", "limit_workdays": 0}])))
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "limit_workdays 0" in lines[0] and "Traceback" not in run.stderr


def test_good_reference_loads_skips_replaces_and_undoes(engine, tmp_path):
    first = load_mapping(engine, _write(tmp_path, GOOD))
    assert first.status == "loaded" and first.rows_loaded == 5
    assert load_mapping(engine, _write(tmp_path, GOOD)).status == "skipped"
    other = _write(tmp_path, _types(["受理", "审查"]), "other.yaml")
    second = load_mapping(engine, other)
    with engine.connect() as conn:
        ref = stored_reference(conn)
    assert set(ref.loc[ref["case_type"] == "许可", "stage"]) == {"受理", "审查"}     # replaced
    assert list(ref.loc[ref["case_type"] == "登记", "stage"]) == ["受理", "登簿"]     # kept
    with pytest.raises(LandDeskError):                # it replaced rows of the first batch: undo needs --force
        undo_batch(engine, second.batch_id)
    undo_batch(engine, second.batch_id, force=True)
    with engine.connect() as conn:
        assert set(stored_reference(conn)["case_type"]) == {"登记"}
