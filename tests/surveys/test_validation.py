import pytest

from surveys.schema import QuestionKind, builtin_survey, parse_survey
from surveys.validation import UNSURE, AnswerErrors, quick_cleaner, validate

CUSTOMER = builtin_survey("customer")
FORM = {"csat": "4", "nps": "9", "ces": "6", "promise_kept": "yes", "comment": ""}
JSON = {"csat": 4, "nps": 9, "ces": 6, "promise_kept": True, "comment": None}


def errors_of(raw, survey=CUSTOMER, lang="en") -> dict[str, str]:
    with pytest.raises(AnswerErrors) as info:
        validate(survey, raw, lang=lang)
    return info.value.errors


def choice_survey():
    en_es = {"en": "Text", "es": "Texto"}
    return parse_survey({
        "id": "c", "version": 1, "languages": ["en", "es"],
        "title": en_es, "intro": en_es, "thanks": en_es,
        "questions": [{"id": "channel", "kind": "choice", "labels": en_es, "choices": [
            {"value": "phone", "labels": en_es}, {"value": "email", "labels": en_es},
        ]}],
    })


def test_form_strings():
    assert validate(CUSTOMER, FORM) == {
        "csat": 4, "nps": 9, "ces": 6, "promise_kept": True, "comment": None,
    }


def test_json_values():
    assert validate(CUSTOMER, JSON) == {
        "csat": 4, "nps": 9, "ces": 6, "promise_kept": True, "comment": None,
    }


def test_result_has_every_question_in_order_when_optional_omitted():
    raw = {k: v for k, v in JSON.items() if k != "comment"}
    assert list(validate(CUSTOMER, raw)) == ["csat", "nps", "ces", "promise_kept", "comment"]


def test_scale_bounds_inclusive():
    answers = validate(CUSTOMER, {**FORM, "csat": " 1 ", "nps": "0", "ces": 7})
    assert (answers["csat"], answers["nps"], answers["ces"]) == (1, 0, 7)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nps", "11", "Choose a number from 0 to 10."),
        ("nps", -1, "Choose a number from 0 to 10."),
        ("csat", 0, "Choose a number from 1 to 5."),
        ("ces", "8", "Choose a number from 1 to 7."),
        ("csat", 4.5, "Answer with a whole number from 1 to 5."),
        ("csat", 4.0, "Answer with a whole number from 1 to 5."),
        ("csat", "4.5", "Answer with a whole number from 1 to 5."),
        ("csat", True, "Answer with a whole number from 1 to 5."),
        ("csat", "abc", "Answer with a whole number from 1 to 5."),
        ("csat", "٤", "Answer with a whole number from 1 to 5."),
        ("csat", [4], "Answer with a whole number from 1 to 5."),
        ("nps", "9" * 5000, "Answer with a whole number from 0 to 10."),
    ],
)
def test_scale_errors(field, value, message):
    assert errors_of({**JSON, field: value}) == {field: message}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("yes", True), ("no", False), ("YES", True),
     ("true", True), ("false", False), ("1", True), ("0", False), (1, True), (0, False)],
)
def test_yes_no_accepted(value, expected):
    assert validate(CUSTOMER, {**FORM, "promise_kept": value})["promise_kept"] is expected


@pytest.mark.parametrize("value", ["maybe", "si", 2, 0.0, ["yes"]])
def test_yes_no_rejected(value):
    assert errors_of({**FORM, "promise_kept": value}) == {"promise_kept": "Answer yes or no."}


def test_yes_no_false_is_an_answer_not_missing():
    assert validate(CUSTOMER, {**JSON, "promise_kept": False})["promise_kept"] is False


@pytest.mark.parametrize("missing", ["", "   ", None])
def test_required_missing(missing):
    assert errors_of({**FORM, "csat": missing}) == {"csat": "Please answer this question."}


def test_required_absent():
    raw = {k: v for k, v in FORM.items() if k != "nps"}
    assert errors_of(raw) == {"nps": "Please answer this question."}


def test_unknown_field_reported_under_its_name():
    assert errors_of({**FORM, "mood": "great"}) == {"mood": "This is not a question in this survey."}


def test_all_errors_collected_at_once():
    errors = errors_of({"csat": "9", "ces": "x", "promise_kept": "", "extra": 1})
    assert set(errors) == {"csat", "nps", "ces", "promise_kept", "extra"}
    assert "csat" in str(AnswerErrors(errors))


def test_text_cleaned():
    answers = validate(CUSTOMER, {**FORM, "comment": "  Line one\r\nline\ttwo\x00\x1b\ud800  "})
    assert answers["comment"] == "Line one\nline\ttwo"


def test_text_blank_is_none():
    assert validate(CUSTOMER, {**FORM, "comment": " \n\t "})["comment"] is None
    assert validate(CUSTOMER, {**FORM, "comment": "\x00"})["comment"] is None


def test_text_length_limit_names_the_limit():
    assert validate(CUSTOMER, {**FORM, "comment": "a" * 1000})["comment"] == "a" * 1000
    # CRLF from a textarea counts as one character, like the browser's maxlength.
    assert validate(CUSTOMER, {**FORM, "comment": "a\r\n" * 400})["comment"] is not None
    errors = errors_of({**FORM, "comment": "a" * 1001})
    assert errors == {"comment": "Please shorten your answer to 1000 characters or fewer (it has 1001)."}


def test_text_wrong_type():
    assert errors_of({**JSON, "comment": 5}) == {"comment": "Answer with text."}


def test_choice():
    survey = choice_survey()
    assert validate(survey, {"channel": "email"}) == {"channel": "email"}
    assert errors_of({"channel": "fax"}, survey) == {"channel": "Choose one of the options."}
    assert errors_of({"channel": 1}, survey) == {"channel": "Choose one of the options."}


def test_messages_in_spanish():
    errors = errors_of({**FORM, "nps": "12", "csat": "", "x": "1"}, lang="es")
    assert errors == {
        "nps": "Elige un número del 0 al 10.",
        "csat": "Por favor, responde esta pregunta.",
        "x": "Esta pregunta no forma parte de la encuesta.",
    }
    assert errors_of({**FORM, "csat": ""}, lang="es-MX") == {"csat": "Por favor, responde esta pregunta."}


def test_messages_fall_back_to_english():
    assert errors_of({**FORM, "csat": ""}, lang="fr") == {"csat": "Please answer this question."}


def test_pulse_optional_items():
    pulse = builtin_survey("pulse")
    raw = {q.id: "3" for q in pulse.questions if q.dimension}
    answers = validate(pulse, raw)
    assert answers["overall_connected"] is None and answers["enps"] is None
    assert answers["trust_respect"] == 3


# --- quick_cleaner: a shortcut that must agree with validate() exactly ----------------------

TRICKY_CELLS = [
    "", " ", "\t", "4", " 4 ", "4 ", "04", "+4", "-1", "0", "1", "5", "6", "7", "10", "11", "4.0", "4,0",
    "1e1", "٣", "４", "YES", "Yes", "yes", "yEs", " yes", "no", "NO", "No", "true", "True", "TRUE",
    "false", "FALSE", "y", "n", "on", "phone", "email", " phone", "Phone", "fine", "fine ", "  fine",
    "two\nlines", "tab\there", "bell\x07", "café ☕", "nbsp\u00a0", "zero\u200bwidth", "x" * 2000,
    "=1+1", "'quoted", "123456789012",
]


def choice_and_text_survey():
    en = {"en": "Text"}
    return parse_survey({
        "id": "q", "version": 1, "languages": ["en"], "title": en, "intro": en, "thanks": en,
        "questions": [
            {"id": "channel", "kind": "choice", "labels": en, "required": True,
             "choices": [{"value": "phone", "labels": en}, {"value": "email", "labels": en}]},
            {"id": "maybe", "kind": "choice", "labels": en, "required": False,
             "choices": [{"value": "phone", "labels": en}, {"value": "fine", "labels": en}]},
            {"id": "why", "kind": "text", "labels": en, "required": True, "max_length": 20},
            {"id": "yn", "kind": "yes_no", "labels": en, "required": True},
        ],
    })


def valid_others(survey, question):
    """Valid raw answers to every question but `question`, so only it can fail."""
    values = {}
    for q in survey.questions:
        if q.id != question.id:
            if q.scale is not None:
                values[q.id] = str(q.scale[0])
            elif q.kind is QuestionKind.YES_NO:
                values[q.id] = "yes"
            elif q.choices:
                values[q.id] = q.choices[0].value
            else:
                values[q.id] = "text"
    return values


@pytest.mark.parametrize("survey", [CUSTOMER, builtin_survey("pulse"), choice_and_text_survey()],
                         ids=lambda s: s.id)
def test_quick_cleaner_agrees_with_validate(survey):
    vouched = 0
    for question in survey.questions:
        clean = quick_cleaner(question)
        for cell in TRICKY_CELLS:
            quick = clean(cell)
            try:
                value = validate(survey, {**valid_others(survey, question), question.id: cell})[question.id]
            except AnswerErrors as exc:
                assert set(exc.errors) == {question.id}
                assert quick is UNSURE, (question.id, cell, exc.errors)  # errors always come from validate
                continue
            if quick is not UNSURE:
                vouched += 1
                assert value == quick and type(value) is type(quick), (question.id, cell, value, quick)
    assert vouched > len(survey.questions)  # the shortcut does take the common cells


def test_quick_cleaner_covers_the_usual_cells_and_leaves_the_odd_ones():
    csat, nps, _, promise, comment = (quick_cleaner(q) for q in CUSTOMER.questions)
    assert [csat(c) for c in ("1", "5")] == [1, 5] and nps("0") == 0 and nps("10") == 10
    assert (promise("yes"), promise("YES"), promise("False"), promise("0")) == (True, True, False, False)
    assert comment("") is None and comment("Fine, thanks") == "Fine, thanks"
    for cell in (" 4 ", "4.0", "", "0", "6", "-1", "٣", "+4", "04"):
        assert csat(cell) is UNSURE, cell
    for cell in ("y", " yes", "maybe", ""):
        assert promise(cell) is UNSURE, cell
    for cell in (" padded", "two\nlines", "bell\x07", "x" * 2000, "   "):
        assert comment(cell) is UNSURE, cell


PULSE = builtin_survey("pulse")
PULSE_ANSWERS = {q.id: "4" for q in PULSE.questions if q.dimension}


def test_prefer_not_to_say_is_unanswered_without_an_error():
    answers = validate(PULSE, {**PULSE_ANSWERS, "trust_judgement": "skip", "trust_respect": " skip "})
    assert answers["trust_judgement"] is None and answers["trust_respect"] is None
    assert answers["connection_identity"] == 4


def test_a_blank_index_item_still_needs_an_answer_or_a_skip():
    raw = {**PULSE_ANSWERS, "trust_judgement": ""}
    assert errors_of(raw, PULSE) == {"trust_judgement": "Please choose an answer, or “Prefer not to say”."}
    assert errors_of(raw, PULSE, lang="es") == {"trust_judgement": "Elige una respuesta, o «Prefiero no responder»."}


def test_only_skippable_questions_take_skip():
    assert "csat" in errors_of({**FORM, "csat": "skip"})
    assert "enps" in errors_of({**PULSE_ANSWERS, "enps": "skip"}, PULSE)


def test_quick_cleaner_takes_skip_as_unanswered():
    item = quick_cleaner(PULSE.question("trust_judgement"))
    assert item("skip") is None and item("4") == 4 and item("") is UNSURE
    assert quick_cleaner(PULSE.question("enps"))("skip") is UNSURE
