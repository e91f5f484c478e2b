"""An answer from the passage that only leads to the question's subject is withheld, with a reason that is true;
the answer from the bridge's own passage, a bridge the question names itself, and a single-hop question pass."""

from dataclasses import replace

from mmroute.pipeline import past_first_hop
from mmroute.types import Draft, Granularity, Hit, Item, RetrievalStep, Verdict, Verification
from mmroute.verification.chain import first_hop

FILM = Hit(
    Item(
        "ircot/151",
        Granularity.PARAGRAPH,
        "Laughter in Hell is a 1933 American Pre-Code drama film directed by Edward L. Cahn and starring Pat O'Brien.",
        "Laughter in Hell",
    ),
    1.2,
    "hop",
)
CAHN = Hit(
    Item(
        "ircot/153",
        Granularity.PARAGRAPH,
        "Edward L. Cahn (February 12, 1899 – August 25, 1963) was an American film director.",
        "Edward L. Cahn",
    ),
    0.99,
    "hop",
)
HITS = (FILM, CAHN)
QUESTION = "When did the director of film Laughter In Hell die?"
STEPS = (
    RetrievalStep(0, QUESTION, ("hop",), HITS),
    RetrievalStep(1, "Edward L. Cahn director die", ("hop",), (CAHN,), bridge="Edward L. Cahn"),
)
SUPPORTED = Verification(Verdict.SUPPORTED, 0.77, ("supported: estimated chance the answer is right 77%",), {}, False)


def draft(text: str, hit: Hit) -> Draft:
    return Draft(text, (hit.item.id,), hit.item.text, 0.9, "reader")


def test_the_films_year_is_not_its_directors_death() -> None:
    hop = first_hop(QUESTION, draft("1933", FILM), HITS, STEPS)
    assert hop is not None and hop.source is FILM and hop.second is CAHN
    said = hop.reason()
    # every statement in the reason is true of the texts
    assert "'Laughter in Hell'" in said and "'Edward L. Cahn'" in said and hop.words == ("director", "die")
    # the bridge's passage holds the right answer, only not this one: "does not contain the answer" was false
    assert said.endswith("that passage does not contain '1933'"), said
    assert "Edward L. Cahn" in FILM.item.text and "edward" not in QUESTION.lower() and "1933" not in CAHN.item.text
    assert "director" in CAHN.item.text and "director" not in FILM.item.text  # it says "directed by"
    ver = past_first_hop(QUESTION, draft("1933", FILM), HITS, STEPS, SUPPORTED)
    assert ver.abstain and ver.verdict is Verdict.UNSUPPORTED and ver.reasons[0] == f"withheld: {said}"
    assert "77%" in ver.reasons[1] and "first step" in ver.reasons[0] and "director" not in said
    # the verdict line does not read as an estimate over the bar on a withheld answer (a new user's confusion)
    estimated = replace(SUPPORTED, signals={"p_correct": 0.77})
    held = past_first_hop(QUESTION, draft("1933", FILM), HITS, STEPS, estimated)
    assert held.confidence_text() == "estimated chance right 77% before the finding that withheld it"
    assert estimated.confidence_text() == "estimated chance right 77%"


def test_life_dates_answer_when_someone_died_though_no_word_of_the_question_is_there() -> None:
    """ "When did the man who directed Laughter in Hell die?" shares no word with Cahn's passage ("directed" is in
    both), and '1933' was shown at 75% (a new user's rewording of the guide's question). Life dates in parentheses
    answer "die". Controls: the second hop's own date passes; a bridge passage without life dates still needs a
    word of the question."""
    q = "When did the man who directed Laughter in Hell die?"
    hop = first_hop(q, draft("1933", FILM), HITS, STEPS)
    assert hop is not None and hop.words == ("die",), hop
    assert first_hop(q, draft("August 25, 1963", CAHN), HITS, STEPS) is None
    undated = replace(CAHN, item=replace(CAHN.item, text="Edward L. Cahn was an American film director."))
    assert first_hop(q, draft("1933", FILM), (FILM, undated), STEPS) is None


def test_the_answer_in_the_bridges_own_passage_passes() -> None:
    """The positive control: the second hop's date is let through untouched."""
    assert first_hop(QUESTION, draft("August 25, 1963", CAHN), HITS, STEPS) is None
    assert past_first_hop(QUESTION, draft("August 25, 1963", CAHN), HITS, STEPS, SUPPORTED) is SUPPORTED


def test_an_answer_both_passages_hold_and_the_bridge_itself_pass() -> None:
    american = Draft("American", ("ircot/151",), FILM.item.text, 0.9, "reader")
    assert first_hop("What nationality was the director of Laughter in Hell?", american, HITS, STEPS) is None
    assert first_hop("Who directed Laughter in Hell?", draft("Edward L. Cahn", FILM), HITS, STEPS) is None


def test_no_bridge_followed_or_named_by_the_question_or_not_retrieved_leaves_the_answer_alone() -> None:
    assert first_hop(QUESTION, draft("1933", FILM), HITS, STEPS[:1]) is None  # a single-hop search
    asked = "When did Edward L. Cahn's film Laughter in Hell come out?"
    assert first_hop(asked, draft("1933", FILM), HITS, STEPS) is None  # the question names the bridge
    assert first_hop(QUESTION, draft("1933", FILM), (FILM,), STEPS) is None  # its item is not in the evidence
    # the bridge's passage holds nothing the question asks that the answer's passage lacks: a single-hop question
    assert first_hop("In what year was the film Laughter In Hell remastered?", draft("1933", FILM), HITS, STEPS) is None


def test_a_withheld_answer_gets_the_finding_as_a_reason_too() -> None:
    low = replace(SUPPORTED, verdict=Verdict.UNSUPPORTED, abstain=True, reasons=("withheld: 30%", "other"))
    ver = past_first_hop(QUESTION, draft("1933", FILM), HITS, STEPS, low)
    assert ver.reasons[0] == "withheld: 30%" and "first step" in ver.reasons[1] and ver.reasons[2] == "other"


def test_a_step_keeps_its_bridge_in_json() -> None:
    d = STEPS[1].to_dict()
    assert d["bridge"] == "Edward L. Cahn" and RetrievalStep.from_dict(d).bridge == "Edward L. Cahn"
    assert RetrievalStep.from_dict(STEPS[0].to_dict()).bridge is None
