"""A misspelt ``router_options`` key is a one-line ConfigError naming the key and the router's real options.

``router = "trained"`` with ``router_options = {pth = "./r"}`` was a TypeError traceback from the class; the
same for ``default``, ``federated``, ``description`` and ``ensemble``, which hand their options on.
"""

from __future__ import annotations

import pytest

from mmroute.errors import ConfigError
from mmroute.routing.base import create_router


@pytest.mark.parametrize(
    ("router", "named", "option"),
    [
        ("trained", "trained", "path"),
        ("description", "description", "temperature"),
        ("default", "default", "ood_margin"),
        ("federated", "federated", "ood_margin"),
        ("guarded", "trained", "path"),
        ("ensemble", "ensemble", "members"),
        ("llm", "llm", "base_url"),
    ],
)
def test_a_misspelt_option_names_the_key_and_the_options(router: str, named: str, option: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_router(router, pth="./nope")
    assert err.value.message.startswith(f"router {named!r} has no option 'pth'")
    assert err.value.hint is not None and option in err.value.hint


def test_federated_says_where_its_options_went() -> None:
    """``federated`` hands unknown keys to its inner router; the error is about what the user configured."""
    with pytest.raises(ConfigError) as err:
        create_router("federated", inner="description", pth="./nope")
    assert err.value.message.startswith("router 'federated' has no option 'pth'")
    assert "inner router 'description'" in err.value.message
    assert err.value.hint is not None and "temperature" in err.value.hint


def test_options_the_router_takes_still_build_it() -> None:
    """The control: real options pass through the same checks."""
    guard = create_router("default", ood_margin=0.1).guard
    assert guard is not None and guard.ood_margin == 0.1
    assert create_router("description", temperature=0.5).temperature == 0.5
    federated = create_router("federated", ood_margin=0.1)
    assert federated.inner.guard is not None and federated.inner.guard.ood_margin == 0.1
