"""Errors regkb raises. Each message names the problem and the fix; shells print it as one line.

RegkbError
├── ConfigError          a setting or file the user controls is wrong
│   └── ManifestError    the corpus manifest is invalid (bad field, path escaping the corpus)
├── IngestError          one document could not be read (broken, encrypted, empty, image-only)
├── IndexStateError      the index is missing or was built differently (rebuild it)
├── IngestBusyError      another ingest holds the data dir's lock
├── AuthError            no API key, or an unknown or revoked one
├── FilterError          a query filter names an unknown value (doc id, agency, ...), or a request is too big
│   ├── InvalidTextError text with a lone surrogate or a control character
│   └── NotFoundError    a requested document, page or conversation does not exist
└── BackendError         a third-party library failed (Chroma, the embedding model)
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "RegkbError",
    "ConfigError",
    "ManifestError",
    "IngestError",
    "IndexStateError",
    "IngestBusyError",
    "FilterError",
    "InvalidTextError",
    "NotFoundError",
    "AuthError",
    "BackendError",
]


class RegkbError(Exception):
    """Base class: every error regkb raises on purpose."""


class ConfigError(RegkbError):
    """A setting or user-controlled file is invalid."""


class ManifestError(ConfigError):
    """The corpus manifest is invalid."""


class IngestError(RegkbError):
    """One document cannot be ingested; the others go on."""

    def __init__(self, path: Path | str, reason: str, fix: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.fix = fix
        message = f"{path}: {reason}"
        super().__init__(f"{message} ({fix})" if fix else message)


class IndexStateError(RegkbError):
    """The index is missing, or was built with other settings than the ones in force."""


class IngestBusyError(RegkbError):
    """Another ingest is writing the same data dir."""


class FilterError(RegkbError):
    """A filter value is unknown, or a request exceeds a limit."""


class InvalidTextError(FilterError):
    """Text that is not valid Unicode or holds control characters."""


class BackendError(RegkbError):
    """A third-party backend (vector store, embedding model) failed."""


class NotFoundError(FilterError):
    """A requested document, page or conversation does not exist (HTTP 404)."""


class AuthError(RegkbError):
    """The caller did not present a valid API key (HTTP 401)."""
