"""Settings from KLANTROEF_* variables: defaults, parsing, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from klantroef_app.settings import GIB, Settings, SettingsError
from klantroef_core.domain.rates import Rate


def test_no_variables_at_all_give_the_embedded_default() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/klantroef.db"
    assert settings.redis_url is None
    assert settings.media_dir == Path("var/media")
    assert settings.max_upload_bytes == 2 * GIB
    assert settings.view_rate == Rate(30, 60)
    assert settings.login_rate == Rate(10, 60)
    assert settings.stream_link_ttl == 600
    assert settings.signup_open is False


def test_variables_are_read_and_parsed() -> None:
    settings = Settings.from_env(
        {
            "KLANTROEF_DATA_DIR": "/srv/k",
            "KLANTROEF_REDIS_URL": "redis://cache:6379/0",
            "KLANTROEF_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "KLANTROEF_VIEW_RATE": "100/5minutes",
            "KLANTROEF_SIGNUP": "OPEN",
            "KLANTROEF_PUBLIC_BASE_URL": "https://media.example.com/",
        }
    )
    assert settings.database_url == "sqlite:////srv/k/klantroef.db"
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")
    assert settings.view_rate == Rate(100, 300)
    assert settings.signup_open is True
    assert settings.public_base_url == "https://media.example.com"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KLANTROEF_MAX_UPLOAD_BYTES", "lots"),
        ("KLANTROEF_MAX_UPLOAD_BYTES", "0"),
        ("KLANTROEF_VIEW_RATE", "thirty"),
        ("KLANTROEF_SIGNUP", "maybe"),
        ("KLANTROEF_IP_STORAGE", "md5"),
        ("KLANTROEF_ARGON2_MEMORY_COST", "8"),  # 8 KiB with the default 4 lanes
    ],
)
def test_unusable_values_are_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
