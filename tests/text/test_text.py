from mmroute.generation.question import AnswerType, analyze_question
from mmroute.text import answer_matches, normalize_answer, sentences, split_sentences, stem, tokenize


def test_tokens_keep_numbers_and_offsets():
    text = "In 1,066 about 25% of the 10th-century Normans paid $5,000."
    toks = tokenize(text)
    assert [t.text for t in toks][:4] == ["In", "1,066", "about", "25%"]
    assert "$5,000" in [t.text for t in toks]
    assert all(text[t.start : t.end] == t.text for t in toks)


def test_sentences_skip_abbreviations():
    text = "Mr. Smith arrived in St. Louis. He left in 1999. Then he came back!"
    spans = [text[a:b] for a, b in split_sentences(text)]
    assert spans == ["Mr. Smith arrived in St. Louis.", "He left in 1999.", "Then he came back!"]


def test_stem_matches_inflections():
    assert stem("invaded") == stem("invading")
    assert stem("countries") == stem("country")
    assert stem("Normans") == stem("Norman")
    # the hand-made stripper missed these, and the verifier said "harasses" and "die" were not near the answer
    assert stem("harasses") == stem("harass") == stem("harassed")
    assert stem("die") == stem("died") == stem("dies")
    assert stem("classes") == stem("class") and stem("lives") == stem("live")
    # irregular forms join their lemma (LemmInflect's tables); "began" was said to be missing beside "begin"
    assert stem("began") == stem("begin") and stem("won") == stem("win") and stem("men") == stem("man")
    # controls: different words stay apart, numbers stay whole, a form with two lemmas ("born": bear, born) stays
    assert stem("director") != stem("die") and stem("1990s") == "1990s" and stem("born") != stem("bear")


def test_squad_normalisation_and_metric():
    assert normalize_answer("The  Normans!") == "normans"
    assert answer_matches("the 10th and 11th centuries", ["10th and 11th centuries"])
    assert answer_matches("in the 10th and 11th centuries ok", ["10th and 11th centuries"])
    assert not answer_matches("x b c d e f Rollo", ["Rollo"])  # six extra words
    assert answer_matches("x b c d e Rollo", ["Rollo"])  # five extra words
    assert not answer_matches("", ["Rollo"])
    assert not answer_matches("Rollo", [])


def test_question_analysis_types_and_keys():
    assert analyze_question("How many cities have over 200,000 residents?").answer_type is AnswerType.NUMBER
    assert analyze_question("When were the Normans in Normandy?").answer_type is AnswerType.DATE
    assert analyze_question("Who was the Norse leader?").answer_type is AnswerType.PERSON
    assert analyze_question("Where did the Normans settle?").answer_type is AnswerType.LOCATION
    qa = analyze_question("What religion were the Normans in Sicily?")
    assert qa.answer_type is AnswerType.ENTITY and qa.focus == "religion"
    qa = analyze_question("Who gave their name to Normandy in the 1000's and 1100's")
    assert "normandy" in qa.key_terms and "1000's" in " ".join(qa.key_terms) or "1000" in " ".join(qa.key_terms)
    assert analyze_question("What does not form the basis of separation results?").negated


def test_search_tokens_fold_accents_and_keep_stop_words():
    from mmroute.text import fold, search_tokens

    assert fold("Fährmann ÉCOLE") == "fahrmann ecole"
    assert search_tokens("The Fährmann's (2004) Walls and Bridges") == [
        "the",
        "fahrmann",
        "s",
        "2004",
        "walls",
        "and",
        "bridges",
    ]


def test_a_title_loses_only_its_trailing_disambiguation():
    from mmroute.text import strip_parenthetical

    assert strip_parenthetical("Up (2009 film)") == "Up"
    assert strip_parenthetical("Walls and Bridges") == "Walls and Bridges"
    assert strip_parenthetical("(Untitled) Song") == "(Untitled) Song"  # only a trailing one


def test_one_place_for_the_stop_words_each_role_uses():
    """Answering and search keep their own lists (they differ on purpose), both from mmroute.text."""
    from mmroute.generation import question
    from mmroute.retrieval import lexical
    from mmroute.text import SEARCH_STOPWORDS, STOPWORDS

    assert lexical.STOPWORDS is SEARCH_STOPWORDS and question.STOPWORDS is STOPWORDS
    assert "between" in STOPWORDS and "between" not in SEARCH_STOPWORDS  # "Between Two Ferns" stays findable
    assert lexical.content_tokens("What is the capital of Norway?") == ["capital", "norway"]


def test_sentences_are_the_split_spans():
    from mmroute.text import sentences

    assert sentences("Dr. Who aired in 1963. It ran long.  ") == ["Dr. Who aired in 1963.", "It ran long."]
    assert sentences("   ") == []


def test_a_word_family_joins_derivations_and_nothing_else():
    """'director' and 'directed' are one family (a reason had said 'director' is missing beside 'directed'); the
    controls: words that only share letters, and stems too short to tell."""
    from mmroute.text import same_family, stem

    assert same_family(stem("director"), stem("directed"))
    assert same_family(stem("founder"), stem("founded"))
    assert same_family(stem("settlement"), stem("settled"))
    assert same_family(stem("directed"), stem("directing"))
    assert not same_family(stem("general"), stem("generation"))
    assert not same_family(stem("organ"), stem("organization"))
    assert not same_family("art", "artist")


def test_a_line_break_ends_a_sentence():
    """A photo's captions are joined by line breaks: the coffee photo's answer sentence was three captions run
    together ("... coarse wood grain).\na cup of coffee on a saucer\nImage of ..."). The control: a sentence that
    goes on after an abbreviation on one line stays whole."""
    text = "It has a coarse wood grain).\na cup of coffee on a saucer\n\nImage of a cup of coffee (Rachel Michetti)"
    assert sentences(text) == [
        "It has a coarse wood grain).",
        "a cup of coffee on a saucer",
        "Image of a cup of coffee (Rachel Michetti)",
    ]
    assert sentences("Mr. Smith went to St. Louis. He stayed.") == ["Mr. Smith went to St. Louis.", "He stayed."]


def test_a_sentence_may_start_with_a_symbol_or_an_accented_capital():
    """The complexity article's "#P is an important complexity class of counting problems (not decision problems)."
    was read as part of the sentence before it, and a reason quoted its "(not decision problems" as the answer's
    sentence. The controls: a full stop before a lower-case word or an abbreviation ends no sentence."""
    text = (
        "BQP and QMA are defined using quantum Turing machines. #P is an important complexity class of counting "
        "problems (not decision problems). Ögedei Khan ruled. $5 million was raised. It ended at no. 5 in the list."
    )
    assert sentences(text) == [
        "BQP and QMA are defined using quantum Turing machines.",
        "#P is an important complexity class of counting problems (not decision problems).",
        "Ögedei Khan ruled.",
        "$5 million was raised.",
        "It ended at no. 5 in the list.",
    ]
    assert sentences("It is 5 ft. tall. the rest follows.") == ["It is 5 ft. tall. the rest follows."]
