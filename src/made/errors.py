"""What made's errors have in common: one line each, short, and naming settings the way the
caller gives them.

The library speaks of settings by name (``grad_clip``, ``device``, ``overwrite``); the
command line speaks of flags (``--grad-clip``). A message that names a setting writes it as
``{flag:NAME}``: printed from Python it reads ``NAME``, and the command line renders it as the
flag that gives that setting (``MadeError.render``). So each rule's message is written once.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["MadeError", "SettingError", "brief", "render"]

_TOKEN = re.compile(r"\{flag:([a-z_]+)\}")


def brief(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one line and at most ``limit`` characters: a crafted file
    can make a parser's message as long as the file."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render(template: str, flag: Callable[[str], str] | None = None) -> str:
    """``template`` with each ``{flag:NAME}`` as ``flag(NAME)``, or as ``NAME`` without one."""
    return _TOKEN.sub(lambda m: m.group(1) if flag is None else flag(m.group(1)), template)


class MadeError(ValueError):
    """A problem with what was asked (bad input, a setting, a file), in one line whose
    ``{flag:NAME}`` tokens name settings (see the module's docstring)."""

    def __init__(self, template: str) -> None:
        super().__init__(template)
        self.template = template

    def __str__(self) -> str:
        return self.render()

    def render(self, flag: Callable[[str], str] | None = None,
               show: Callable[[str, object], str] | None = None) -> str:  # fmt: skip
        """The message, settings named by ``flag`` (values shown by ``show(setting, value)``
        where the error holds some)."""
        return render(self.template, flag)


class SettingError(MadeError):
    """A setting that cannot be used as given: ``setting``, its ``value``, and the
    ``problem``, in which ``{was}`` stands for another value of the setting (``was``). From
    Python it reads ``device='cuda' was asked for...``; the command line says ``--device
    cuda was asked for...``, showing values as its flags take them."""

    def __init__(self, setting: str, value: object, problem: str, was: object = None) -> None:
        self.setting, self.value, self.problem, self.was = setting, value, problem, was
        super().__init__(problem)

    def render(self, flag: Callable[[str], str] | None = None,
               show: Callable[[str, object], str] | None = None) -> str:  # fmt: skip
        if flag is None or show is None:
            name, value, was = self.setting + "=", repr(self.value), repr(self.was)
        else:
            name, value = flag(self.setting) + " ", show(self.setting, self.value)
            was = show(self.setting, self.was)
        problem = render(self.problem.replace("{was}", was), flag)
        return f"{name}{value} {problem}"
