"""Request bodies of the HTTP API, validated by pydantic; answers reuse the CLI's JSON (api.render)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.filters import Filters

__all__ = ["FilterBody", "AskRequest", "ChatMessage", "ChatRequest", "CompletionMessage", "CompletionRequest"]

# A hard cap on the body; the handlers apply settings.api.max_question_chars (default 2000) with a clear message.
MAX_QUESTION_CHARS = 20_000


class FilterBody(BaseModel):
    """The same filters as `regkb ask --agency ... --doc-id ...`; each a list of accepted values."""

    model_config = ConfigDict(extra="forbid")

    agency: list[str] = Field(default_factory=list, examples=[["FDA"]])
    jurisdiction: list[str] = Field(default_factory=list, examples=[["US"]])
    doc_type: list[str] = Field(default_factory=list)
    status: list[str] = Field(default_factory=list)
    doc_id: list[str] = Field(default_factory=list)

    def to_filters(self) -> Filters:
        return Filters.from_user(**self.model_dump())


def _stripped(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty; ask something, e.g. 'What are the stages of process validation?'")
    return value


class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "What are the three stages of process validation?"},
                {"question": "What CMC information does a Phase 1 IND need?", "filters": {"agency": ["FDA"]}},
            ]
        },
    )

    question: str = Field(max_length=MAX_QUESTION_CHARS)
    filters: FilterBody = Field(default_factory=FilterBody)
    k: int | None = Field(None, ge=1, le=50, description="Passages to use (default: settings).")

    _strip = field_validator("question")(_stripped)


class ChatMessage(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str = Field(max_length=20_000)


class ChatRequest(BaseModel):
    """Either `messages` (the whole conversation, last one the user's) or `message` (+ `conversation_id`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"message": "What must be in place before the first GMP batch for autologous CAR-T?"},
                {"conversation_id": "3f2c...", "message": "and for allogeneic products?", "stream": True},
                {"messages": [{"role": "user", "content": "When must the potency assay be validated?"}]},
            ]
        },
    )

    message: str | None = Field(None, max_length=MAX_QUESTION_CHARS)
    conversation_id: str | None = Field(None, max_length=64)
    messages: list[ChatMessage] | None = None
    filters: FilterBody = Field(default_factory=FilterBody)
    k: int | None = Field(None, ge=1, le=50)
    stream: bool = False


class CompletionMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # clients send name, tool_calls ...; they are ignored

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class CompletionRequest(BaseModel):
    """OpenAI chat-completions request; sampling options are accepted and ignored (answers are extractive)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": "regkb-extractive",
                    "messages": [{"role": "user", "content": "What CMC information does a Phase 1 IND need?"}],
                }
            ]
        },
    )

    model: str = "regkb-extractive"
    messages: list[CompletionMessage] = Field(min_length=1)
    stream: bool = False
