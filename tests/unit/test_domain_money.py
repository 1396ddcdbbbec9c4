import pytest

from domain.money import format_yuan, require_fen, wan_yuan, yuan


@pytest.mark.parametrize(
    "fen, text",
    [(0, "0.00元"), (5, "0.05元"), (1_234_567, "12,345.67元"), (-150, "-1.50元"), (50_000_000_000, "500,000,000.00元")],
)
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


def test_units():
    assert yuan(3) == 300
    assert wan_yuan(8) == 8_000_000
    assert wan_yuan(5000) == 5_000_000_000


@pytest.mark.parametrize("value", [1.0, True, "100", None])
def test_require_fen_rejects_non_int(value):
    with pytest.raises(TypeError):
        require_fen(value, "amount")


def test_require_fen_accepts_int():
    assert require_fen(-7, "amount") == -7
