"""WHO 2019 grade (§1): every boundary on both sides, the higher index decides, NEC overrides."""

from __future__ import annotations

import pytest

from rules import Grade, RulesInputError, tumour_grade


@pytest.mark.parametrize(
    ("ki67", "grade"),
    [
        ("0", Grade.G1), ("2.9", Grade.G1), ("2.99", Grade.G1), ("3", Grade.G2),
        ("3.0", Grade.G2), ("3.1", Grade.G2), ("19.9", Grade.G2), ("20", Grade.G2),
        ("20.0", Grade.G2), ("20.01", Grade.G3), ("20.1", Grade.G3), ("100", Grade.G3),
    ],
)
def test_ki67_boundaries(ki67, grade):
    result = tumour_grade("well", ki67_percent=ki67)
    assert result.grade is grade
    assert result.decided_by == "ki67"


@pytest.mark.parametrize(
    ("mitoses", "grade"),
    [(0, Grade.G1), (1, Grade.G1), ("1.9", Grade.G1), (2, Grade.G2), (3, Grade.G2),
     (19, Grade.G2), (20, Grade.G2), ("20.5", Grade.G3), (21, Grade.G3)],
)
def test_mitoses_boundaries(mitoses, grade):
    result = tumour_grade("well", mitoses_per_2mm2=mitoses)
    assert result.grade is grade
    assert result.decided_by == "mitoses"


@pytest.mark.parametrize(
    ("ki67", "mitoses", "grade", "decided_by"),
    [
        ("2.5", 1, Grade.G1, "ki67_and_mitoses"),
        ("2.5", 5, Grade.G2, "mitoses"),
        ("25", 5, Grade.G3, "ki67"),
        ("15", 21, Grade.G3, "mitoses"),
        ("15", 15, Grade.G2, "ki67_and_mitoses"),
    ],
)
def test_higher_index_decides(ki67, mitoses, grade, decided_by):
    result = tumour_grade("well", ki67, mitoses)
    assert (result.grade, result.decided_by) == (grade, decided_by)
    assert str(grade) in result.reasons[0]


def test_both_missing_is_unknown():
    result = tumour_grade("well")
    assert result.grade is Grade.UNKNOWN
    assert result.decided_by is None


@pytest.mark.parametrize(("ki67", "mitoses"), [("2", 1), ("50", 30), (None, None)])
def test_poorly_differentiated_is_nec_whatever_the_indices(ki67, mitoses):
    result = tumour_grade("poor", ki67, mitoses)
    assert result.grade is Grade.NEC
    assert result.decided_by == "differentiation"


def test_nec_with_low_indices_asks_for_pathology_review():
    assert "pathology review" in " ".join(tumour_grade("poor", "2", 1).reasons)
    assert "pathology review" not in " ".join(tumour_grade("poor", "40", 30).reasons)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"differentiation": "moderate"}, "differentiation"),
        ({"differentiation": "well", "ki67_percent": "101"}, "ki67_percent"),
        ({"differentiation": "well", "ki67_percent": "-1"}, "ki67_percent"),
        ({"differentiation": "well", "mitoses_per_2mm2": "-2"}, "mitoses_per_2mm2"),
    ],
)
def test_invalid_inputs_name_their_field(kwargs, field):
    with pytest.raises(RulesInputError) as error:
        tumour_grade(**kwargs)
    assert error.value.field == field
