"""Test doubles that speak real protocols over loopback (e.g. the fake WeChat API)."""
