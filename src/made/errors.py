"""What made's errors have in common: one line each, short, whatever produced them."""

from __future__ import annotations

__all__ = ["SettingError", "brief"]


def brief(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one line and at most ``limit`` characters: a crafted file
    can make a parser's message as long as the file."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SettingError(ValueError):
    """A setting that cannot be used as given. The library names the setting as Python code
    does (``device='cuda' ...``); the command line names the flag that set it (``--device
    cuda ...``), from ``setting``, ``value`` and ``problem``."""

    def __init__(self, setting: str, value: object, problem: str) -> None:
        self.setting, self.value, self.problem = setting, value, problem
        super().__init__(f"{setting}={value!r} {problem}")
