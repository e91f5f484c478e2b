"""Questions about the query image itself ("What is in this picture?") are answered by the KB photo that looks like
it, on a real photos KB (the packaged ConSE encoder over the shared scikit-image sample): a user's copy of a KB photo
gets that photo's words, a photo that is in no KB gets "I don't know" naming the closest one (a positive and a
negative control), and a question with words of its own still goes to the generator and the evidence verifier."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageOps

from mmroute.config import PipelineConfig
from mmroute.generation.photo_match import (
    GENERATOR,
    MIN_IMAGE_SIMILARITY,
    MIN_LEAD,
    asks_which_photo,
    nearest_photo,
    photo_answer,
    photo_by_words,
    users_photo_first,
    what_it_shows,
)
from mmroute.kb import Home
from mmroute.pipeline import Pipeline
from mmroute.text import only_about_the_medium
from mmroute.types import Granularity, Hit, Item, RetrievalResult, Verdict

AIRPLANE = "images/textvqa_sample/images/005635e119b9f32f.jpg"
"""A TextVQA photo of an old airliner on a field: in no KB here; its nearest sample photo is the rocket launch."""


@pytest.fixture(scope="module")
def photos_home(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Home:
    from mmroute.indexer import Indexer

    home = Home(tmp_path_factory.mktemp("photos-home"))
    Indexer(home).index("photos", data_dir / "images/skimage/images", granularity="image")
    return home


@pytest.fixture(scope="module")
def pipe(photos_home: Home) -> Pipeline:
    return Pipeline.from_home(photos_home, PipelineConfig(kbs=["photos"]))


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("What is in this picture?", True),
        ("What does this photo show?", True),
        ("What is this?", True),
        ("Who is this?", True),
        ("What can you see in the image?", True),
        ("Who is the astronaut in this photo?", False),
        ("What animal is pictured?", False),
        ("Which rocket is shown?", False),
    ],
)
def test_a_question_about_the_image_itself_is_recognised(question: str, asks: bool) -> None:
    assert only_about_the_medium(question) is asks


def test_a_users_copy_of_a_kb_photo_gets_that_photos_words(pipe: Pipeline, data_dir: Path, tmp_path: Path) -> None:
    coffee = data_dir / "images/skimage/images/coffee.png"
    ans = pipe.ask("What is in this picture?", image=coffee)
    assert ans.display_text == "Coffee cup" and not ans.abstained
    assert ans.draft is not None and ans.draft.generator == GENERATOR and ans.draft.evidence_ids == ("coffee.png",)
    ver = ans.verification
    assert ver is not None and ver.verdict is Verdict.SUPPORTED and ver.confidence >= MIN_IMAGE_SIMILARITY
    assert ver.confidence_text() == f"image similarity {ver.confidence:.2f}, not a probability"
    assert ver.reasons[0].startswith("supported: your image looks like coffee.png (image similarity 0.9")
    assert ans.retrieval is not None and ans.retrieval.image_hits[0].item.id == "coffee.png"
    # a mirrored, smaller copy: the same photo's words, not a reader's span of them ("facial")
    mirrored = tmp_path / "mine.png"
    im = Image.open(data_dir / "images/skimage/images/chelsea.png")
    ImageOps.mirror(im).resize((im.size[0] // 2, im.size[1] // 2)).save(mirrored)
    cat = pipe.ask("What does this photo show?", image=mirrored)
    assert cat.display_text == "Chelsea the cat" and not cat.abstained


def test_a_photo_in_no_kb_is_withheld_naming_the_closest(pipe: Pipeline, data_dir: Path) -> None:
    ans = pipe.ask("What is in this picture?", image=data_dir / AIRPLANE)
    assert ans.abstained and ans.display_text == "I don't know"
    ver = ans.verification
    assert ver is not None and ver.verdict is Verdict.UNSUPPORTED and ver.confidence < MIN_IMAGE_SIMILARITY
    said = f"image similarity {ver.confidence:.2f}, needs {MIN_IMAGE_SIMILARITY:.2f}"
    assert (
        ver.reasons[0]
        == f"withheld: no photo in the knowledge bases looks like yours; the closest is rocket.jpg ({said})"
    )
    assert ans.draft is not None and ans.draft.text == "Launch photo of DSCOVR on Falcon 9 by SpaceX"


def test_a_question_with_words_of_its_own_goes_to_the_generator(pipe: Pipeline, data_dir: Path) -> None:
    ans = pipe.ask("Who is the astronaut in this photo?", image=data_dir / "images/skimage/images/astronaut.png")
    assert ans.draft is not None and ans.draft.generator != GENERATOR
    # without an image there is nothing to look like: the question goes to the generator too
    plain = pipe.ask("What is in this picture?")
    assert plain.draft is None or plain.draft.generator != GENERATOR


def test_the_users_photo_is_read_first_for_a_question_with_words_of_its_own(pipe: Pipeline, data_dir: Path) -> None:
    """A new user's run: "What animal is shown in this photo?" with the horse photo read the cat's words first
    ("a facial photo of a tabby cat" matches the question better) and drafted 'Chelsea the cat'. The KB photo the
    query image is comes first now. The control: a photo in no KB leaves the evidence as the search ranked it."""
    horse = data_dir / "images/skimage/images/horse.png"
    ans = pipe.ask("What animal is shown in this photo?", image=horse)
    assert ans.draft is not None and ans.draft.evidence_ids == ("horse.png",)
    assert ans.draft.text is not None and "horse" in ans.draft.text.lower(), ans.draft
    res = pipe.retriever.retrieve("What animal is shown in this photo?", k=5, image=data_dir / AIRPLANE)
    assert users_photo_first(res.hits, res.image_hits) == list(res.hits)


def photo(name: str, words: str, score: float) -> Hit:
    return Hit(Item(id=name, kind=Granularity.IMAGE, captions=(words,)), score, "photos", 1)


def test_two_photos_with_other_words_about_as_alike_are_withheld_and_same_words_are_no_rival() -> None:
    tie = [photo("gravel.png", "Gravel", 0.950), photo("coins.png", "Greek coins from Pompeii.", 0.948)]
    found = photo_answer(tie)
    assert found is not None
    draft, ver = found
    assert ver.abstain and draft.text == "Gravel"
    assert ver.reasons[0] == (
        "withheld: two photos with different words look about equally like yours: gravel.png (0.950) and coins.png "
        f"(0.948); one needs a lead of {MIN_LEAD:.2f}"
    )
    # the control: a stereo pair with the same words is no rival, and a clear lead is enough
    pair = [photo("left.png", "Motorcycle. Left view.", 0.975), photo("right.png", "Motorcycle. Right view.", 0.974)]
    assert nearest_photo(pair) is not None and nearest_photo(pair).rival is None  # type: ignore[union-attr]
    assert not photo_answer(pair)[1].abstain  # type: ignore[index]
    lead = [photo("gravel.png", "Gravel", 0.97), photo("coins.png", "Greek coins from Pompeii.", 0.94)]
    assert not photo_answer(lead)[1].abstain  # type: ignore[index]
    assert what_it_shows(photo("x.png", "Chelsea the cat. An example with texture.", 1.0)) == "Chelsea the cat"
    assert photo_answer([]) is None


def test_the_image_hits_travel_with_the_retrieval_both_ways(photos_home: Home, data_dir: Path) -> None:
    from mmroute.retrieval.single import SingleShotRetriever

    coffee = data_dir / "images/skimage/images/coffee.png"
    res = SingleShotRetriever(photos_home).retrieve("What is in this picture?", kbs=["photos"], image=coffee)
    assert res.image_hits[0].item.id == "coffee.png" and res.image_hits[0].score > MIN_IMAGE_SIMILARITY
    back = RetrievalResult.from_dict(res.to_dict())
    assert [(h.item.id, round(h.score, 5)) for h in back.image_hits] == [
        (h.item.id, round(h.score, 5)) for h in res.image_hits
    ]
    words = SingleShotRetriever(photos_home).retrieve("a cup of coffee", kbs=["photos"])
    assert words.image_hits == () and "image_hits" not in words.to_dict()


def test_a_photo_without_words_is_said_to_have_none(pipe: Pipeline, data_dir: Path) -> None:
    """grace_hopper.jpg has no caption in the sample: asked with that very photo, the answer is "I don't know" because
    the photo that looks like it has no words, not because no photo looks like it (a first version said so). The
    photo leads the evidence: the question's "picture" no longer puts a photo whose caption says "picture" above it."""
    ans = pipe.ask("What is in this picture?", image=data_dir / "images/skimage/images/grace_hopper.jpg")
    assert ans.abstained and ans.draft is not None and ans.draft.text is None
    assert ans.reason.startswith("withheld: the photo that looks like yours, grace_hopper.jpg (image similarity 1.00")
    assert ans.reason.endswith("has no words (caption, title or text) to say what it shows")
    assert ans.evidence[0].item.id == "grace_hopper.jpg"


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Which photo shows a cat?", True),
        ("What picture was taken at Cape Canaveral?", True),
        ("Which images show coins?", True),
        ("What is the image of God in Christianity?", False),
        ("Which film did Nolan direct?", False),
    ],
)
def test_a_question_asking_for_a_photo_is_recognised(question: str, asks: bool) -> None:
    assert asks_which_photo(question) is asks


def test_which_photo_is_answered_with_the_photo_its_words_say_and_withheld_when_none(pipe: Pipeline) -> None:
    """ "Which photo shows a cat?" drafted 'facial' (a reader's span of the cat photo's caption) and was withheld;
    it is answered with the photo whose words hold the question's words. The control: no photo's words say "dog"."""
    cat = pipe.ask("Which photo shows a cat?")
    assert cat.display_text == "chelsea.png: “Chelsea the cat”" and not cat.abstained
    ver = cat.verification
    assert ver is not None and ver.confidence_text() == "caption word coverage 100%, not a probability"
    assert ver.reasons[0] == "supported: the words of chelsea.png hold 100% of the question's words"
    bike = pipe.ask("Which photo shows a red motorcycle?")  # the stereo pair: both photos, the matching caption
    assert bike.display_text.endswith(": “a red motorcycle standing in a garage”"), bike.display_text
    pair = [photo(f"bike_{side}.png", "Stereo pair.\na red motorcycle", 0.5) for side in ("left", "right")]
    given = photo_by_words("Which photo shows a motorcycle?", pair)
    assert given is not None and given[0].text == "bike_left.png: “a red motorcycle”"
    assert given[1].reasons[-1] == "the words of bike_right.png hold as many"
    dog = pipe.ask("Which photo shows a dog?")
    assert dog.abstained and dog.display_text == "I don't know"
    assert dog.reason.startswith("withheld: no retrieved photo's words say what was asked (the closest, ")
    assert dog.reason.endswith("holds 0% of the question's words, needs 50%)")
