"""Cross-modal evidence: a question whose answer is in a photo's caption finds the photo even when the router
sends it to the paragraphs, and a question that names a medium ("in the photo") searches that medium's KBs;
never when the routed KBs hold the answer's words, never when widening is off."""

from __future__ import annotations

import pytest

from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.retrieval import RETRIEVERS
from mmroute.retrieval.widening import widen_across_modalities, widen_by_mention
from mmroute.routing.explicit import mentioned_media
from mmroute.types import EncoderSpec
from tests.retrieval.conftest import COLOUR_ENCODER, WIKI, KeywordRouter, make_kb, png

SHUTTLE_Q = "Who was the first woman to pilot the space shuttle?"
LENNON_Q = "Nobody Loves You is a song by John Lennon released on which album?"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """``wiki`` (paragraphs) and ``photos`` (an image KB whose captions are its only words)."""
    tmp = tmp_path_factory.mktemp("cross")
    home = Home(tmp / "home")
    make_kb(home, tmp, "wiki", WIKI, "encyclopedia paragraphs")
    folder = tmp / "photos"
    folder.mkdir()
    for name, rgb, caption in (
        (
            "astronaut",
            (200, 200, 210),
            "Eileen Collins, an American astronaut: the first woman to pilot the space shuttle.",
        ),
        ("cat", (180, 120, 60), "Chelsea the cat on a rug."),
        ("rocket", (90, 90, 100), "A Falcon 9 rocket on the launch pad at Cape Canaveral."),
    ):
        png(folder / f"{name}.png", rgb)
        (folder / f"{name}.txt").write_text(caption)
    Indexer(home).index("photos", folder, modality="image", encoder=EncoderSpec(COLOUR_ENCODER, {}))
    return home


@pytest.mark.parametrize(
    ("question", "media"),
    [
        ("Who is the astronaut in the photo with the American flag?", {"image"}),
        ("What rocket is shown in the launch pad photo?", {"image"}),
        ("Who is pictured on the coin?", {"image"}),
        ("Which photo shows a cat?", {"image"}),  # was never searched in the photos KB
        ("What video clip has the bunny?", {"clip"}),
        ("What happens at the start of the clip?", {"clip"}),
        ("At what time in the video does the bunny wake up?", {"video"}),
        ("Who directed Inception?", set()),
        ("What is the image of God in Christianity?", set()),
        ("What is the painting style of Monet?", set()),
        ("Who won the 2018 FIFA World Cup?", set()),
    ],
)
def test_a_medium_the_question_is_about_is_read_as_a_person_would(question: str, media: set[str]) -> None:
    assert mentioned_media(question) == media


def test_the_caption_that_answers_is_found_across_modalities(home: Home) -> None:
    w = widen_across_modalities(home, SHUTTLE_Q, ["wiki"], ["wiki", "photos"])
    assert w.added == ("photos",) and "another modality" in w.note and w.weights["photos"] >= 0.6
    # the control: the routed paragraphs hold the question's words, nothing is added
    assert widen_across_modalities(home, LENNON_Q, ["wiki"], ["wiki", "photos"]).added == ()


def test_a_named_medium_adds_its_kbs_and_nothing_else(home: Home) -> None:
    w = widen_by_mention(home, "Who is the astronaut in the photo?", ["wiki"], ["wiki", "photos"])
    assert w.added == ("photos",) and w.weights == {"photos": 1.0} and "names a medium (image)" in w.note
    assert widen_by_mention(home, "Who is the astronaut?", ["wiki"], ["wiki", "photos"]).added == ()
    assert widen_by_mention(home, "What happens in the clip?", ["wiki"], ["wiki", "photos"]).added == ()


@pytest.mark.parametrize("name", ["single", "stepwise"])
def test_retrievers_bring_the_photo_into_the_evidence(home: Home, name: str) -> None:
    router = KeywordRouter([], "photos", "wiki")  # every question goes to the paragraphs
    res = RETRIEVERS.create(name, home=home, router=router).retrieve(SHUTTLE_Q, k=3)
    assert "photos" in res.steps[0].kbs and "another modality" in res.steps[0].note
    assert any(h.item.id.endswith("astronaut.png") for h in res.hits), [h.item.id for h in res.hits]
    off = RETRIEVERS.create(name, home=home, router=router, widen=False).retrieve(SHUTTLE_Q, k=3)
    assert off.steps[0].kbs == ("wiki",)


def test_the_route_line_lists_what_was_searched(home: Home) -> None:
    from mmroute.app.support import route_summary
    from mmroute.generation import create_generator
    from mmroute.pipeline import Pipeline, PipelineConfig

    router = KeywordRouter([], "photos", "wiki")
    retriever = RETRIEVERS.create("single", home=home, router=router)
    pipe = Pipeline(retriever, create_generator("offline"), None, PipelineConfig(generator="offline", verify=False))
    ans = pipe.ask(SHUTTLE_Q)
    assert ans.searched_kbs == ("wiki", "photos") and ans.route is not None and ans.route.kbs == ("wiki",)
    assert route_summary(ans.route, ans.searched_kbs).endswith(
        "→ searched wiki, photos (photos beyond the route: the steps say why)"
    )
    assert route_summary(ans.route, ("wiki",)).endswith("→ searched wiki")  # the control: kept to the route
    assert ans.to_dict()["searched_kbs"] == ["wiki", "photos"]
    assert [h.score for h in ans.evidence] == sorted((h.score for h in ans.evidence), reverse=True)


def test_a_caption_that_answers_outranks_paragraphs_that_do_not(home: Home) -> None:
    """Beside text KBs, a media item is scored by its words in the text KB's space: the caption naming the first
    woman to pilot the shuttle leads the evidence, though the photo's own (colour + words) cosine is lower."""
    from mmroute.retrieval.stepwise import StepwiseRetriever

    router = KeywordRouter([], "photos", "wiki")
    res = StepwiseRetriever(home, router=router).retrieve(SHUTTLE_Q, k=3)
    assert res.hits[0].item.id.endswith("astronaut.png"), [(h.item.id, h.score) for h in res.hits]
    photos = home.open("photos")
    own = {h.item.id: h.score for h in photos.search(SHUTTLE_Q, k=3)}
    astronaut = next(h for h in res.hits if h.item.id.endswith("astronaut.png"))
    assert astronaut.score > own[astronaut.item.id]
    # the control: photos searched alone keep their own cosines (no text KB to compare with)
    alone = StepwiseRetriever(home).retrieve(SHUTTLE_Q, k=3, kbs=["photos"])
    assert next(h for h in alone.hits if h.item.id == astronaut.item.id).score < astronaut.score


def test_words_cosines_score_worded_items_in_the_reference_space(home: Home) -> None:
    from mmroute.retrieval.stepwise import words_cosines
    from mmroute.types import Granularity, Item

    wiki = home.open("wiki")
    items = {
        "a": Item(id="a.png", kind=Granularity.IMAGE, captions=("the first woman to pilot the space shuttle",)),
        "b": Item(id="b.png", kind=Granularity.IMAGE, captions=("Chelsea the cat on a rug",)),
        "c": Item(id="c.png", kind=Granularity.IMAGE),  # no words: left out, not scored 0
    }
    got = words_cosines(wiki, SHUTTLE_Q, items)
    assert set(got) == {"a", "b"} and got["a"] > 0.5 > got["b"]
    assert words_cosines(wiki, SHUTTLE_Q, {}) == {}


def test_word_vectors_are_embedded_once_per_process(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from mmroute.retrieval.stepwise import word_vectors

    wiki = home.open("wiki")
    texts = ["a caption seen once in this test run", "and a second one, also unseen before"]
    calls: list[int] = []
    encode = wiki.encoder.encode_items

    def counting(items):  # noqa: ANN001, ANN202
        calls.append(len(items))
        return encode(items)

    monkeypatch.setattr(wiki.encoder, "encode_items", counting)
    first = word_vectors(wiki, texts)
    again = word_vectors(wiki, [texts[1], texts[0], texts[1]])
    assert calls == [2] and first.shape == (2, wiki.info.dim)
    assert np.allclose(again, first[[1, 0, 1]]) and np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert word_vectors(wiki, []).shape == (0, wiki.info.dim)
