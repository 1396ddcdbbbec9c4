from decimal import Decimal

import pytest

from domain.targets import (
    RegionNode,
    RegionProgress,
    RegionTreeError,
    percent_of_target,
    progress_label,
    roll_up,
)


@pytest.mark.parametrize(
    "actual, target, expected",
    [
        (1_147, 1_000, "114.7"),
        (6_665, 10_000, "66.7"),  # exactly 66.65: half up (half-even would give 66.6)
        (6_664_999, 10_000_000, "66.6"),  # 66.64999
        (1_125, 10_000_000, "0.0"),  # 0.01125
        (1, 3, "33.3"),
        (2, 3, "66.7"),
        (0, 5, "0.0"),
        (100, 100, "100.0"),
        (5, 1_000, "0.5"),
        (-6_665, 10_000, "-66.7"),  # half up means away from zero
        (2_100_000_000_000 + 1, 2_100_000_000_000, "100.0"),  # 210亿 target plus 1 fen
        (10**30 + 5 * 10**26, 10**30, "100.1"),  # 100.05 exactly, far beyond float precision
    ],
)
def test_percent_of_target(actual, target, expected):
    percent = percent_of_target(actual, target)
    assert isinstance(percent, Decimal)
    assert str(percent) == expected


@pytest.mark.parametrize(
    "actual, target, expected",
    [(1_147, 1_000, "完成年度任务的 114.7%"), (0, 1, "完成年度任务的 0.0%"), (5, None, None)],
)
def test_progress_label(actual, target, expected):
    assert progress_label(actual, target) == expected


def test_percent_of_target_rejects_non_positive_target():
    with pytest.raises(ValueError):
        percent_of_target(1, 0)


# Five levels. Sales are credited to villages, a township, a county and the province itself.
NODES = [
    RegionNode("430000", "湖南省", "province", None, 500_000_000),
    RegionNode("433100", "湘西州", "city", "430000", 100_000_000),
    RegionNode("433101", "吉首市", "county", "433100", 40_000_000),
    RegionNode("433126", "古丈县", "county", "433100", None),
    RegionNode("433101001", "乾州街道", "township", "433101", 4_000_000),
    RegionNode("433101001001", "甲村", "village", "433101001", 1_000_000),
    RegionNode("433101001002", "乙村", "village", "433101001", 3_000_000),
    RegionNode("433126100", "默戎镇", "township", "433126", None),
    RegionNode("433126100201", "牛角山村", "village", "433126100", 2_000),
]
SALES = {
    "433101001001": 1_147_000,
    "433101001002": 1_000_000,
    "433101001": 519_000,
    "433126100201": 3_333,
    "433126": 100_000,
    "430000": 1_000,
}

# code -> (direct, actual, percent, label)
EXPECTED = {
    "430000": (1_000, 2_770_333, "0.6", "完成年度任务的 0.6%"),  # 0.5540666%
    "433100": (0, 2_769_333, "2.8", "完成年度任务的 2.8%"),  # 2.769333%
    "433101": (0, 2_666_000, "6.7", "完成年度任务的 6.7%"),  # 6.665% exactly, half up
    "433101001": (519_000, 2_666_000, "66.7", "完成年度任务的 66.7%"),  # 66.65% exactly
    "433101001001": (1_147_000, 1_147_000, "114.7", "完成年度任务的 114.7%"),
    "433101001002": (1_000_000, 1_000_000, "33.3", "完成年度任务的 33.3%"),
    "433126": (100_000, 103_333, None, None),
    "433126100": (0, 3_333, None, None),
    "433126100201": (3_333, 3_333, "166.7", "完成年度任务的 166.7%"),  # 166.65% exactly
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_roll_up_five_levels(code):
    progress = roll_up(NODES, SALES)[code]
    direct, actual, percent, label = EXPECTED[code]
    assert (progress.direct_sales_fen, progress.actual_sales_fen) == (direct, actual)
    assert (None if progress.percent is None else str(progress.percent)) == percent
    assert progress.label == label


def test_roll_up_full_record_and_tree_order():
    result = roll_up(reversed(NODES), SALES)  # input order does not matter
    assert list(result) == [
        "430000", "433100", "433101", "433101001", "433101001001", "433101001002",
        "433126", "433126100", "433126100201",
    ]
    assert result["433101"] == RegionProgress(
        code="433101", name="吉首市", level="county", parent_code="433100", annual_target_fen=40_000_000,
        direct_sales_fen=0, actual_sales_fen=2_666_000, percent=Decimal("6.7"), label="完成年度任务的 6.7%",
    )


def test_roll_up_without_sales_and_forest():
    nodes = [
        RegionNode("433100", "湘西州", "city", None, 1_000),
        RegionNode("433101", "吉首市", "county", "433100"),
        RegionNode("430100", "长沙市", "city", None),
    ]
    result = roll_up(nodes, {})
    assert list(result) == ["430100", "433100", "433101"]
    assert [(r.actual_sales_fen, r.label) for r in result.values()] == [
        (0, None), (0, "完成年度任务的 0.0%"), (0, None),
    ]


def test_level_may_be_skipped_but_not_inverted():
    # a county directly under the province is accepted (deeper level); the reverse is not
    roll_up([RegionNode("430000", "湖南省", "province"), RegionNode("433101", "吉首市", "county", "430000")], {})
    with pytest.raises(RegionTreeError, match="cannot sit under"):
        roll_up([RegionNode("433101", "吉首市", "county"), RegionNode("433100", "湘西州", "city", "433101")], {})


@pytest.mark.parametrize(
    "nodes, sales, message",
    [
        pytest.param(
            [RegionNode("a", "甲", "county", "b"), RegionNode("b", "乙", "county", "a")], {},
            "cycle in region tree", id="two-node-cycle",
        ),
        pytest.param(
            [
                RegionNode("root", "州", "city"),
                RegionNode("a", "甲", "township", "c"),
                RegionNode("b", "乙", "township", "a"),
                RegionNode("c", "丙", "township", "b"),
            ],
            {},
            "cycle in region tree: a → c → b → a", id="three-node-cycle",
        ),
        pytest.param([RegionNode("a", "甲", "village", "a")], {}, "cycle", id="self-parent"),
        pytest.param(
            [RegionNode("433101", "吉首市", "county", "433100")], {}, "unknown parent '433100'", id="unknown-parent"
        ),
        pytest.param(
            [RegionNode("a", "甲", "county"), RegionNode("a", "乙", "county")], {}, "duplicate", id="duplicate-code"
        ),
        pytest.param([RegionNode("a", "甲", "county")], {"zz": 5}, "unknown region 'zz'", id="sales-unknown-region"),
    ],
)
def test_tree_errors(nodes, sales, message):
    with pytest.raises(RegionTreeError, match=message):
        roll_up(nodes, sales)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"level": "hamlet"}, RegionTreeError),
        ({"annual_target_fen": 0}, RegionTreeError),
        ({"annual_target_fen": -5}, RegionTreeError),
        ({"annual_target_fen": 1.5}, TypeError),
    ],
)
def test_node_validation(kwargs, error):
    with pytest.raises(error):
        RegionNode(**{"code": "a", "name": "甲", "level": "county", **kwargs})


def test_float_sales_rejected():
    with pytest.raises(TypeError):
        roll_up([RegionNode("a", "甲", "county")], {"a": 1.0})
