"""ownership.split_undo: undo puts back only what sfexit left as it was."""

from __future__ import annotations

from sfexit.people.ownership import Row, split_undo

A, B, C = "005A00000000001AAA", "005B00000000001AAA", "005C00000000001AAA"


def test_only_records_still_with_the_owner_sfexit_set_go_back() -> None:
    rows = [Row("001000000000001AAA", B, A), Row("001000000000002AAA", B, A),
            Row("001000000000003AAA", B, A), Row("001000000000004AAA", B, A)]
    current = {"001000000000001": B, "001000000000002": C, "001000000000003": A}
    split = split_undo(rows, current)
    assert [r.id for r in split.back] == ["001000000000001AAA"]
    assert [(r.id, now) for r, now in split.drifted] == [("001000000000002AAA", C),
                                                         ("001000000000004AAA", "")]
    assert split.already == 1


def test_a_second_undo_has_nothing_to_do() -> None:
    rows = [Row("001000000000001AAA", B, A)]
    split = split_undo(rows, {"001000000000001": A[:15] + "XYZ"})
    assert not split.back and not split.drifted and split.already == 1
