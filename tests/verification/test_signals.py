"""Every verifier signal on real SQuAD 2.0 text (answerable and adversarial unanswerable questions)."""

from __future__ import annotations

import pytest

from mmroute.types import Draft
from mmroute.verification.signals import answer_agreement, compute_signals
from mmroute.verification.verifier import signal_vector

SUPPORT0 = (
    'They were descended from Norse ("Norman" comes from "Norseman") raiders and pirates from Denmark, '
    "Iceland and Norway who, under their leader Rollo, agreed to swear fealty to King Charles III of West Francia."
)


def _draft(text, support=SUPPORT0):
    return Draft(text=text, evidence_ids=("squad2/Normans/0",), support=support, generator="offline")


def test_supported_answer_scores_high(emb, normans_hits):
    s, words = compute_signals("Who was the Norse leader?", _draft("Rollo"), normans_hits, emb)
    assert s["cov_sentence"] == pytest.approx(1.0) and s["cov_window"] == pytest.approx(1.0)
    assert s["key_missing"] == 0 and not words["key_missing"]
    assert s["sim_q_support"] > 0.3 and s["sim_qa_support"] > s["sim_q_support"] - 0.2
    assert s["answer_in_evidence"] == 1.0 and s["entities_in_evidence"] == 1.0
    assert s["type_match"] == 1.0 and s["answer_repeats_question"] == 0.0
    assert s["negation_mismatch"] == 0.0 and s["number_conflict"] == 0.0


def test_changed_numbers_are_missing_key_terms(emb, normans_hits):
    # SQuAD 2.0 unanswerable: the paragraph says "10th and 11th centuries", the question "1000's and 1100's"
    s, words = compute_signals(
        "Who gave their name to Normandy in the 1000's and 1100's",
        _draft("The Normans", normans_hits[0].item.text.split(". ")[0]),
        normans_hits,
        emb,
    )
    assert s["key_missing"] >= 1 and s["key_missing_any"] == 1.0
    assert any("1000" in w for w in words["key_missing"])


def test_swapped_word_lowers_coverage(emb, normans_hits):
    ok, _ = compute_signals("Who was the Norse leader?", _draft("Rollo"), normans_hits, emb)
    bad, words = compute_signals("Who was the Viking admiral?", _draft("Rollo"), normans_hits, emb)
    assert bad["cov_window"] < ok["cov_window"]
    assert bad["missing_terms"] >= 1 and bad["missing_idf_max"] > 0
    assert "admir" in " ".join(words["missing"])


def test_hallucinated_answer_is_not_in_evidence(emb, normans_hits):
    s, _ = compute_signals("Who was the Norse leader?", _draft("Harald Bluetooth in 958"), normans_hits, emb)
    assert s["entities_in_evidence"] == 0.0
    assert s["numbers_agree"] == 0.0
    assert s["answer_in_evidence"] < 0.5


def test_a_capitalised_article_or_prefix_is_no_missing_name(emb, normans_hits):
    # "The" opening an answer and "US" of "US$" were counted as names the evidence lacks, so an answer quoted from
    # the passage was said to have "a name in the answer" missing (a false reason; the policy learnt from it)
    for answer in ("The Normans", "A Norse leader", "US$1"):
        s, _ = compute_signals("Who gave their name to Normandy?", _draft(answer), normans_hits, emb)
        assert s["entities_in_evidence"] == 1.0, answer
    # the control: a real name that the evidence lacks still counts, after an article too
    s, _ = compute_signals("Who gave their name to Normandy?", _draft("The Saxons"), normans_hits, emb)
    assert s["entities_in_evidence"] == 0.0


def test_negation_and_number_conflict(emb, normans_hits):
    s, _ = compute_signals("Who did not swear fealty to King Charles III?", _draft("Rollo"), normans_hits, emb)
    assert s["negation_mismatch"] == 1.0
    s, _ = compute_signals("Who swore fealty to King Charles IV in 1015?", _draft("Rollo"), normans_hits, emb)
    assert s["key_missing"] >= 1


def test_dual_path_agreement(emb, normans_hits):
    assert answer_agreement("Rollo", "their leader Rollo") == 1.0
    assert answer_agreement("Rollo", "King Charles III") == 0.0
    assert 0.0 < answer_agreement("King Charles III", "Charles the Simple") < 1.0
    assert answer_agreement(None, "Rollo") == 0.0
    s, _ = signal_vector("Who was the Norse leader?", _draft("Rollo"), normans_hits, _draft("leader Rollo"), emb)
    assert s["dual_agree"] == 1.0 and s["dual_available"] == 1.0
    s, _ = signal_vector("Who was the Norse leader?", _draft("Rollo"), normans_hits, None, emb)
    assert s["dual_agree"] == 0.0 and s["dual_available"] == 0.0


def test_long_evidence_embeds_only_the_sentences_closest_to_the_question() -> None:
    from mmroute.generation.question import analyze_question
    from mmroute.text import LocalIdf, content_stems, tokenize
    from mmroute.verification.signals import MAX_SIM_SENTENCES, EvidenceView, closest_sentences

    filler = [f"Sentence {i} talks about bread and weather in town {i}." for i in range(200)]
    key = "Rollo was the leader of the Norse raiders."
    sentences = tuple(filler[:120] + [key] + filler[120:])
    view = EvidenceView(sentences, key, key, " ".join(sentences), "doc")
    idf = LocalIdf([content_stems(tokenize(s)) for s in sentences])
    kept = closest_sentences(analyze_question("Who was the leader of the Norse raiders?"), view, idf)
    assert len(kept) == MAX_SIM_SENTENCES and key in kept
    few = EvidenceView(sentences[:10], key, key, "", "p")
    assert closest_sentences(analyze_question("Who?"), few, idf) == list(sentences[:10])


def test_a_photos_caption_need_not_say_photo(emb) -> None:
    """Evidence that is the photo the question names answers "in the photo" by being the photo; the same words in
    a paragraph do not say they are a photo, so there "photo" stays a missing word (the control)."""
    from mmroute.types import Granularity, Hit, Item

    caption = "Chelsea the cat, a tabby, sitting on a rug."
    question = "What is the name of the cat in the photo?"
    draft = Draft(text="Chelsea", evidence_ids=("chelsea.png",), support=caption, generator="offline")
    photo = Item(id="chelsea.png", kind=Granularity.IMAGE, captions=(caption,))
    s, words = compute_signals(question, draft, [Hit(item=photo, score=0.5, kb="photos", rank=1)], emb)
    assert s["cov_window"] == pytest.approx(1.0) and s["missing_terms"] == 0 and not words["missing"]
    page = Item(id="p1", kind=Granularity.PARAGRAPH, text=caption)
    s, words = compute_signals(question, draft, [Hit(item=page, score=0.5, kb="wiki", rank=1)], emb)
    assert s["cov_window"] < 1.0 and words["missing"] == ["photo"]


def test_an_inflected_question_word_is_found_near_the_answer(emb) -> None:
    """The reason "these words of the question do not appear near the answer: harasses" was false beside "rodents
    rudely harass him"; the same for "die" beside "died". The control: a word the sentence lacks is still missing."""
    from mmroute.types import Granularity, Hit, Item

    text = "When one sunny day three rodents rudely harass him, something snaps. The director died in 1963."
    hits = [Hit(Item("bbb", Granularity.PARAGRAPH, text), 0.9, "kb")]
    _, words = compute_signals("What harasses the rabbit?", _draft("rodents", text.split(". ")[0] + "."), hits, emb)
    assert "harass" not in " ".join(words["missing"]) and words["missing"] == ["rabbit"], words["missing"]
    _, words = compute_signals("When did the director die?", _draft("1963", "The director died in 1963."), hits, emb)
    assert words["missing"] == [], words["missing"]


def test_a_question_word_found_in_another_form_is_named_with_that_form(emb) -> None:
    """ "director" is missing beside "directed": the signals still count it missing (the policies were fitted so), and
    the words behind them say which word of its family is there. The control: a word with no relative has none."""
    from mmroute.types import Granularity, Hit, Item

    text = "Laughter in Hell is a 1933 film directed by Edward L. Cahn."
    hits = [Hit(Item("lih", Granularity.PARAGRAPH, text), 0.9, "kb")]
    _, words = compute_signals(
        "Who was the director of the comedy Laughter in Hell?", _draft("Edward L. Cahn", text), hits, emb
    )
    as_ = dict(zip(words["missing"], words["missing_as"]))
    assert as_ == {"director": "directed", "comedi": ""}, as_


def test_a_yes_or_no_answer_is_no_negation() -> None:
    """ "What are the two possible answers to a decision problem?" was told "the answer's sentence says 'or no, or
    alternately' but the question has no negation". The control: a "no" that negates is still one."""
    from mmroute.verification.signals import negation_phrases, negation_words

    assert negation_words("The answer is either yes or no (or alternately 1 or 0).") == []
    assert negation_words("a yes/no question") == []
    assert negation_words("There was no answer to it, yes.") == ["no"]
    assert negation_phrases("He did not go, and there is no time.") == ["did not go, and", "is no time"]


def test_a_name_in_the_passages_title_is_not_said_to_be_missing(emb) -> None:
    """ "Which desert lies near the Nevada border in Southern California?" was told "the answer's passage does not
    mention 'Southern California'" of a paragraph titled "Southern California". The signal still reads the text only
    (the policies were calibrated so; counting titles, with the yes/no change beside it, lowered the calibration's
    held-out truthfulness 0.043 -> 0.037), but the reason
    says where the name is. The control: without the title the name is missing, and said so."""
    from mmroute.types import Granularity, Hit, Item
    from mmroute.verification.explain import REASONS
    from mmroute.verification.verifier import shown_words

    text = "The Mojave Desert lies along the border with Nevada."
    q = "Which desert lies near the Nevada border in Southern California?"
    draft = _draft("Mojave", text)
    titled = Item("sc/7", Granularity.PARAGRAPH, text, title="Southern California")
    s, words = compute_signals(q, draft, [Hit(titled, 0.9, "kb")], emb)
    assert s["key_missing"] >= 1 and words["key_missing"] == [], words
    said = REASONS["key_missing"].say(1.0, shown_words(q, words))
    assert said == "the answer's passage names 'Southern California' only in its title", said
    untitled = Item("sc/7", Granularity.PARAGRAPH, text)
    s, words = compute_signals(q, draft, [Hit(untitled, 0.9, "kb")], emb)
    said = REASONS["key_missing"].say(1.0, shown_words(q, words))
    assert s["key_missing"] >= 1 and said == "the answer's passage does not mention 'Southern California'", said


def test_a_two_hop_answers_passage_need_not_name_the_first_hop(emb) -> None:
    """ "When was the director of film P.S. Jerusalem born?" is answered by the passage on Danae Elon, which does not
    name the film; the passage on the film names her. The film is bridged, not missing, and the finding names both
    passages. Controls: without the bridging passage the film is missing; a passage of the same subject bridges
    nothing (a SQuAD article's paragraphs share a title); a subject the question names is no bridge."""
    from mmroute.types import Granularity, Hit, Item
    from mmroute.verification.explain import bridged_finding
    from mmroute.verification.verifier import shown_words

    film = Item(
        "ircot/168",
        Granularity.PARAGRAPH,
        "P.S. Jerusalem is a 2015 documentary film directed by Israeli filmmaker Danae Elon.",
        title="P.S. Jerusalem",
    )
    born = "Danae Elon (born December 23, 1970), is an Israeli documentary filmmaker and cinematographer."
    person = Item("ircot/169", Granularity.PARAGRAPH, born, title="Danae Elon")
    q = "When was the director of film P.S. Jerusalem born?"
    draft = Draft(text="December 23, 1970", evidence_ids=("ircot/169",), support=born, generator="reader")
    bridged, words = compute_signals(q, draft, [Hit(film, 1.3, "hop"), Hit(person, 0.9, "hop")], emb)
    assert (
        bridged["key_missing"] == 0
        and words["key_missing"] == []
        and words["bridge"] == ["P.S. Jerusalem", "Danae Elon"]
    )
    said = bridged_finding(shown_words(q, words))
    assert said == (
        "the passage on 'P.S. Jerusalem' gives 'P.S. Jerusalem' and names 'Danae Elon', the subject of the answer's "
        "passage"
    ), said
    alone, words = compute_signals(q, draft, [Hit(person, 0.9, "hop")], emb)
    assert alone["key_missing"] >= 1 and words["key_bridged"] == [] and words["bridge"] == []
    same_subject = Item(film.id, film.kind, film.text, title="Danae Elon")
    same, _ = compute_signals(q, draft, [Hit(same_subject, 1.3, "hop"), Hit(person, 0.9, "hop")], emb)
    assert same["key_missing"] >= 1
    named = "When was Danae Elon, director of film P.S. Jerusalem, born?"
    s, _ = compute_signals(named, draft, [Hit(film, 1.3, "hop"), Hit(person, 0.9, "hop")], emb)
    assert s["key_missing"] >= 1
