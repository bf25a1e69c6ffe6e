"""Controls: each check declared once, listed without a host, its id in every report."""

from __future__ import annotations

import json
import re

import pytest

from pytest_backupnet.controls import PREFLIGHT, all_controls, control


def test_every_check_is_a_control_with_a_stable_id() -> None:
    controls = all_controls()
    ids = [c.id for c in controls]
    assert len(ids) == len(set(ids)) == 13
    assert PREFLIGHT in ids and "BN-R4.egress-firewall" in ids and "BN-R6.inbound-firewall-drift" in ids
    for declared in controls:
        assert re.fullmatch(r"(BN-R\d|preflight)\.[a-z0-9-]+", declared.id)
        assert declared.title and declared.rationale
        # Findable by requirement from the file name.
        module = declared.where.split("::")[0]
        assert declared.id == PREFLIGHT or declared.requirements[0].lower().replace("-", "_") in module


def test_list_checks_touches_no_host(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--backupnet-list-checks", "--hosts", "ssh://unreachable.invalid")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "BN-R4.egress-firewall *BN-R4 *outbound *The host firewall lets the egress port out*",
        "* pytest_backupnet/checks/test_bn_r4_egress_firewall.py::test_egress_firewall",
        "BN-R6.agent-listening *BN-R6,BN-R8 *inbound *",
    ])  # fmt: skip
    assert "collected" not in result.stdout.str()


@pytest.mark.parametrize(
    ("control_id", "requirements", "cases", "only_with"),
    [("egress", ["BN-R4"], "host", ""), ("BN-R4.x", ["BN-R99"], "host", ""),
     ("BN-R4.x", ["BN-R4"], "nonsense", ""), ("BN-R4.x", ["BN-R5"], "host", ""),
     ("BN-R4.x", ["BN-R4"], "host", "firewall-sometimes")],
)  # fmt: skip
def test_a_malformed_declaration_is_refused(
    control_id: str, requirements: list[str], cases: str, only_with: str
) -> None:
    with pytest.raises(ValueError, match="control"):
        declare = control(
            control_id, requirements=requirements, title="t", rationale="r", cases=cases, only_with=only_with
        )
        declare(lambda: None)


SYNTHETIC = """
from pytest_backupnet.controls import control

@control("BN-R1.synthetic-bug", requirements=["BN-R1"], cases="host", title="t", rationale="r")
def test_bug(case, verdict):
    raise KeyError("a bug in a check")
"""


def test_a_fault_in_a_check_is_not_evaluated_never_a_failure_of_the_host(pytester: pytest.Pytester) -> None:
    """A bug in the suite must not be reported as a host breaking a requirement."""
    pytester.makepyfile(test_synthetic=SYNTHETIC)
    evidence = pytester.path / "evidence.json"
    result = pytester.runpytest_subprocess(
        "--profile", "commercial", "test_synthetic.py", "-k", "test_bug", "--backupnet-json", str(evidence)
    )
    [record] = json.loads(evidence.read_text())["records"]
    assert (record["status"], record["outcome"]) == ("not-evaluated", "error")
    assert record["message"].startswith("internal error: KeyError")
    assert result.ret == 6
