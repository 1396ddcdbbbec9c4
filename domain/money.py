"""Money helpers. All amounts are integer fen (1 yuan = 100 fen); floats never touch money."""

from __future__ import annotations

FEN_PER_YUAN = 100


def yuan(amount_yuan: int) -> int:
    """Whole yuan -> fen (for constants written the way the documents state them)."""
    return amount_yuan * FEN_PER_YUAN


def wan_yuan(amount_wan: int) -> int:
    """万元 (ten thousand yuan) -> fen; the policy documents state every amount in 万元."""
    return amount_wan * 10_000 * FEN_PER_YUAN


def require_fen(value: object, field: str) -> int:
    """Reject floats/bools where money is expected, so a float can never slip into a sum."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an int amount in fen, got {type(value).__name__}")
    return value


def format_yuan(amount_fen: int, *, thousands: bool = True, suffix: str = "元") -> str:
    """Display text, exact integer arithmetic: 1234567 -> '12,345.67元' (the one money formatter)."""
    require_fen(amount_fen, "amount_fen")
    sign = "-" if amount_fen < 0 else ""
    whole, fen = divmod(abs(amount_fen), FEN_PER_YUAN)
    whole_text = f"{whole:,}" if thousands else str(whole)
    return f"{sign}{whole_text}.{fen:02d}{suffix}"
