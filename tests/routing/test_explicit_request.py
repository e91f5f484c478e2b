"""A request that names its medium ("Show me a photo of a cat") goes to that route, not to `no`/`video`."""

from __future__ import annotations

import pytest

from mmroute.routing.explicit import requested_route

REQUESTS = [
    ("Show me a photo of a cat", "image"),
    ("show me pictures of dogs", "image"),
    ("Could you find an image of the Eiffel Tower at night?", "image"),
    ("Display a cute picture of a kitten", "image"),
    ("Can you find the video of the keynote?", "video"),
    ("Show me the clip where the rabbit wakes up", "clip"),
]
QUESTIONS = [  # about a medium, or not about one: the model decides
    "What is written in the photo of the parade?",
    "Who is shown in the photo?",
    "Show me how to cook leeks",
    "What happens in the video after the rabbit wakes up?",
    "Who directed Inception?",
]


@pytest.mark.parametrize(("query", "route"), REQUESTS)
def test_requests_name_their_route(query: str, route: str) -> None:
    assert requested_route(query) == route


@pytest.mark.parametrize("query", QUESTIONS)
def test_questions_are_left_to_the_model(query: str) -> None:
    assert requested_route(query) is None


def test_show_me_a_photo_of_a_cat_goes_to_the_image_route() -> None:
    from mmroute.routing import default_router

    router = default_router()
    for query, route in REQUESTS:
        d = router.route(query, [])
        assert d.chosen[0] == route, (query, [(r.route, round(r.probability, 2)) for r in d.ranked[:3]])
    assert router.route("Show me a photo of a cat", []).details.get("requested_route") == "image"
