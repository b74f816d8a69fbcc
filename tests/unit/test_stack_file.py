"""Reading stack files (network.stack_file): a file that cannot be read as UTF-8
text is one clean error naming it, never a traceback from the reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from network.errors import ConfigError
from network.stack_file import read_stack_config, read_text_file


@pytest.mark.parametrize(
    ("data", "field", "value"),
    [
        (b"config:\n  a: 1\x00\n", "(file at line 2, column 7)", "NUL byte"),
        (b"config:\n\n  a: caf\xe9\n", "(file at line 3, column 9)", "byte 0xe9"),
        ("config: {}\n".encode("utf-16"), "(file at line 1, column 1)", "byte 0xff"),
    ],
)
def test_not_text(tmp_path: Path, data: bytes, field: str, value: str) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as e:
        read_text_file(path, "Pulumi.x.yaml")
    (problem,) = e.value.problems
    assert (problem.field, problem.value) == (field, value)
    assert e.value.source == "Pulumi.x.yaml"


def test_utf8_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("config:\n  crossnet:note: café\n", encoding="utf-8")
    assert read_stack_config("x", path)["crossnet:note"] == "café"


def test_a_directory_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.mkdir()
    with pytest.raises(ConfigError) as e:
        read_stack_config("x", path)
    assert "cannot be read" in e.value.render()
