"""The official `openai` SDK, unchanged, against regkb under a real uvicorn on loopback: streaming and not."""

from __future__ import annotations

import pytest
from openai import BadRequestError, OpenAI

pytestmark = pytest.mark.integration

QUESTION = "What are the three stages of process validation?"


@pytest.fixture(scope="module")
def client(live_server: str) -> OpenAI:
    return OpenAI(base_url=f"{live_server}/v1", api_key="not-needed-yet", max_retries=0, timeout=30)


def test_models(client):
    assert [m.id for m in client.models.list()] == ["regkb-extractive"]


def test_completion_with_footnoted_citations(client):
    completion = client.chat.completions.create(
        model="regkb-extractive", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content
    assert "Stage 1 – Process Design" in content and "[^1]" in content
    citations = completion.model_extra["citations"]
    assert citations[0]["doc_id"] == "fda-process-validation-2011" and citations[0]["pages"] == [7]
    assert f"[^1]: {citations[0]['title']}" in content


def test_streaming_completion_gives_the_same_text(client):
    whole = client.chat.completions.create(model="regkb-extractive", messages=[{"role": "user", "content": QUESTION}])
    stream = client.chat.completions.create(
        model="regkb-extractive", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    assert len(chunks) > 3 and chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content


def test_follow_up_in_the_message_list_is_resolved(client):
    completion = client.chat.completions.create(
        model="regkb-extractive",
        messages=[
            {"role": "user", "content": "When must the potency assay be validated in the EU?"},
            {"role": "assistant", "content": "(earlier answer)"},
            {"role": "user", "content": "and in the US?"},
        ],
    )
    extra = completion.model_extra["regkb"]
    assert extra["question"] == "When must the potency assay be validated in the US?"
    assert {row["jurisdiction"] for row in extra["checklist"]["rows"]} == {"US"}
    assert "From the checkpoint map:" in completion.choices[0].message.content


def test_bad_request_surfaces_as_the_sdk_error(client):
    with pytest.raises(BadRequestError, match="messages must contain a non-empty user message"):
        client.chat.completions.create(model="regkb-extractive", messages=[{"role": "system", "content": "hi"}])
