"""A malformed or misspelt REGKB_ variable is one line naming it and the fix, exit 1, in every command."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app
from kb.errors import ConfigError
from kb.settings import load_settings

pytestmark = pytest.mark.unit

COMMANDS = [
    ["ingest"],
    ["docs"],
    ["ask", "What is a design space?"],
    ["search", "media fill"],
    ["checkpoints"],
    ["serve"],
    ["slack"],
    ["feedback"],
    ["eval"],
    ["corpus", "fetch"],
    ["keys", "list"],
    ["lessons", "check"],
]

BAD = [
    ({"REGKB_DATADIR": "/tmp/elsewhere"}, "REGKB_DATADIR is not a regkb setting (did you mean REGKB_DATA_DIR?)"),
    ({"REGKB_RETRIEVAL__TOP_K": "five"}, "REGKB_RETRIEVAL__TOP_K='five': Input should be a valid integer"),
    ({"REGKB_ACCESS__LOCAL_SCOPES": '["admin"]'}, "REGKB_ACCESS__LOCAL_SCOPES='[\"admin\"]': Input should be 'public'"),
    ({"REGKB_ACCESS__LOCAL_SCOPES": "internal"}, "REGKB_ACCESS__LOCAL_SCOPES='internal': not valid JSON"),
    (
        {"REGKB_CHROMA_URL": "localhost:8000"},
        "REGKB_CHROMA_URL='localhost:8000': 'localhost:8000' is not an http(s) URL",
    ),
    (
        {"REGKB_API__MAX_BODY_BYTES": "10"},
        "REGKB_API__MAX_BODY_BYTES='10': Input should be greater than or equal to 1024",
    ),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize(("env", "message"), BAD, ids=lambda v: next(iter(v)) if isinstance(v, dict) else "")
def test_a_bad_variable_is_one_line_in_every_command(monkeypatch, tmp_path, command, env, message):
    monkeypatch.setenv("REGKB_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regkb: error: ") and message in lines[0], result.output
    assert "fix" in lines[0]


def test_known_names_keys_of_map_settings_and_other_variables_pass_the_name_check():
    # Names only: the values are read from the real environment. Any refusal would raise ConfigError.
    load_settings(
        {"REGKB_RETRIEVAL__TOP_K": "7", "REGKB_SLACK__CHANNEL_SCOPES__C0123": '{"agency": ["FDA"]}', "PATH": "/bin"}
    )


def test_an_unknown_name_far_from_any_setting_points_at_the_readme():
    with pytest.raises(ConfigError, match=r"REGKB_COLOUR is not a regkb setting \(the README's Settings table"):
        load_settings({"REGKB_COLOUR": "blue"})


def test_cli_output_is_never_read_as_markup(capsys):
    from api.cli import _fail, err, out
    from kb.errors import RegkbError

    text = "Lesson [/bold] about [red]freezer[/red] bags [link=x]"
    out.print(text)
    _fail(RegkbError(text))
    captured = capsys.readouterr()
    assert text in captured.out and f"regkb: error: {text}" in captured.err
    assert err.soft_wrap
