"""One exception hierarchy for the whole package, rooted in :class:`EmbodiedCollabError`."""

from __future__ import annotations


class EmbodiedCollabError(Exception):
    """Base class of every error raised on purpose by this package."""


class InvalidFileError(EmbodiedCollabError, ValueError):
    """A world, suite, config or checkpoint file is malformed.

    Attributes:
        path: the file (or ``"<memory>"``).
        json_path: where in the document the first problem is, e.g. ``$.tasks[3].success``.
    """

    def __init__(self, message: str, *, path: str = "<memory>", json_path: str = "$") -> None:
        self.path = path
        self.json_path = json_path
        super().__init__(f"{path}: {json_path}: {message}")


class DependencyNotInstalled(EmbodiedCollabError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{module} is not installed: run `pip install 'embodied-collab[{extra}]'` "
            f"(or the README setup command)"
        )


class ModelNotAvailable(EmbodiedCollabError, FileNotFoundError):
    """Model weights could not be found, assembled, or failed their hash check."""


class InvalidInputError(EmbodiedCollabError, ValueError):
    """Caller input (audio, image, instruction, ...) cannot be used; the message says why."""


class InvalidActionError(EmbodiedCollabError, ValueError):
    """A high-level action names something that does not exist or cannot be done now."""


class LinkUnavailable(EmbodiedCollabError, ConnectionError):
    """The cloud link is down, the circuit is open, or a call missed its deadline."""


class PlanValidationError(EmbodiedCollabError, ValueError):
    """A plan failed validation against the skill schema or the world (after repair)."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        self.errors = list(errors or [])
        super().__init__(message)


def require(module: str, extra: str):
    """Import ``module`` or raise :class:`DependencyNotInstalled` naming ``extra``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyNotInstalled(module, extra) from exc
