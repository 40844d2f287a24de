import copy
import json
from pathlib import Path

import pytest

from surveys.schema import (
    Question,
    QuestionKind,
    SurveyDefinitionError,
    builtin_survey,
    load_survey,
    localize,
    parse_survey,
)

PULSE_ITEMS = {
    "connection": ["connection_identity", "connection_community", "connection_growth"],
    "empowerment": ["empowerment_fix", "empowerment_exceptions"],
    "backing": ["backing_good_faith", "backing_has_my_back"],
    "process": ["process_clear_steps", "process_exceptions"],
    "trust": ["trust_judgement", "trust_respect"],
    "knowledge": ["knowledge_one_place", "knowledge_training", "knowledge_feedback_loop"],
}


def minimal() -> dict:
    """A small valid definition, as tomllib would return it."""
    en_es = {"en": "Text", "es": "Texto"}
    return {
        "id": "mini",
        "version": 1,
        "languages": ["en", "es"],
        "title": dict(en_es),
        "intro": dict(en_es),
        "thanks": dict(en_es),
        "dimensions": [{"id": "trust", "labels": dict(en_es)}],
        "questions": [
            {"id": "t1", "kind": "scale_1_5", "dimension": "trust", "labels": dict(en_es)},
            {"id": "pick", "kind": "choice", "labels": dict(en_es), "choices": [
                {"value": "a", "labels": dict(en_es)},
                {"value": "b", "labels": dict(en_es)},
            ]},
            {"id": "note", "kind": "text", "required": False, "max_length": 50, "labels": dict(en_es)},
        ],
    }


def parse_error(data: dict) -> str:
    with pytest.raises(SurveyDefinitionError) as info:
        parse_survey(data, source="mini.toml")
    return str(info.value)


def test_customer_definition():
    survey = builtin_survey("customer")
    assert survey.id == "customer"
    assert survey.version >= 1
    assert survey.languages == ("en", "es")
    assert survey.dimensions == ()
    kinds = {q.id: q.kind for q in survey.questions}
    assert kinds == {
        "csat": QuestionKind.SCALE_1_5,
        "nps": QuestionKind.SCALE_0_10,
        "ces": QuestionKind.SCALE_1_7,
        "promise_kept": QuestionKind.YES_NO,
        "comment": QuestionKind.TEXT,
    }
    required = {q.id for q in survey.questions if q.required}
    assert required == {"csat", "nps", "ces", "promise_kept"}
    assert survey.question("nps").scale == (0, 10)
    assert survey.question("nps").low_labels["en"] == "Not at all likely"
    assert survey.question("ces").high_labels["en"] == "Strongly agree"
    assert survey.question("comment").max_length == 1000


def test_pulse_definition():
    survey = builtin_survey("pulse")
    assert survey.id == "pulse"
    assert [d.id for d in survey.dimensions] == list(PULSE_ITEMS)
    for dimension, ids in PULSE_ITEMS.items():
        items = survey.items(dimension)
        assert [q.id for q in items] == ids
        assert all(q.kind is QuestionKind.SCALE_1_5 and q.required for q in items)
        assert survey.dimension(dimension).weight == 1.0
        assert set(survey.dimension(dimension).description) == {"en", "es"}
    outside = [q for q in survey.questions if q.dimension is None]
    assert [(q.id, q.kind, q.required) for q in outside] == [
        ("overall_connected", QuestionKind.SCALE_1_5, False),
        ("enps", QuestionKind.SCALE_0_10, False),
        ("comment", QuestionKind.TEXT, False),
    ]


def test_pulse_wording_matches_item_bank():
    survey = builtin_survey("pulse")
    assert survey.question("backing_good_faith").text("en", "Acme") == (
        "When I act in good faith for a customer, Acme stands behind my decision."
    )
    assert survey.question("enps").text("en", "Acme") == (
        "How likely are you to recommend working with Acme to a friend?"
    )


@pytest.mark.parametrize("name", ["customer", "pulse"])
def test_every_text_in_english_and_spanish(name):
    survey = builtin_survey(name)
    maps = [survey.title, survey.intro, survey.thanks]
    for d in survey.dimensions:
        maps += [d.labels, d.description]
    for q in survey.questions:
        maps += [q.labels] + [m for m in (q.low_labels, q.high_labels) if m]
        if q.scale:
            assert q.low_labels and q.high_labels, q.id
    for labels in maps:
        assert set(labels) == {"en", "es"}
        assert labels["en"] != labels["es"]


def test_builtin_survey_is_cached_and_rejects_unknown():
    assert builtin_survey("pulse") is builtin_survey("pulse")
    with pytest.raises(KeyError):
        builtin_survey("nope")


def test_question_text_replaces_brand_and_falls_back_to_english():
    question = builtin_survey("customer").question("nps")
    assert question.text("es", "Acme") == "¿Qué tan probable es que le recomiendes Acme a un amigo?"
    assert question.text("fr", "Acme") == "How likely are you to recommend Acme to a friend?"
    assert localize({"es": "Hola"}, "en") == "Hola"


def test_survey_lookup_errors():
    survey = builtin_survey("pulse")
    with pytest.raises(KeyError):
        survey.question("missing")
    with pytest.raises(KeyError):
        survey.items("missing")


def test_as_dict_is_json_ready():
    data = json.loads(json.dumps(builtin_survey("customer").as_dict()))
    assert data["id"] == "customer"
    nps = next(q for q in data["questions"] if q["id"] == "nps")
    assert nps["type"] == "scale_0_10"
    assert nps["range"] == [0, 10]
    assert nps["required"] is True
    assert nps["max_length"] is None
    comment = next(q for q in data["questions"] if q["id"] == "comment")
    assert comment["range"] is None and comment["max_length"] == 1000
    pulse = builtin_survey("pulse").as_dict()
    assert pulse["dimensions"][0]["id"] == "connection"
    assert pulse["dimensions"][0]["weight"] == 1.0


def test_definitions_are_immutable():
    question = builtin_survey("customer").question("csat")
    with pytest.raises(TypeError):
        question.labels["en"] = "changed"  # type: ignore[index]


def test_question_accepts_kind_string():
    question = Question("q", "scale_1_7", {"en": "?"})
    assert question.kind is QuestionKind.SCALE_1_7 and question.scale == (1, 7)
    assert Question("q", QuestionKind.YES_NO, {"en": "?"}).scale is None


def test_minimal_parses():
    survey = parse_survey(minimal())
    assert survey.question("pick").choices[1].value == "b"
    assert survey.question("note").max_length == 50
    assert survey.items("trust")[0].id == "t1"


def test_load_survey_reads_toml(tmp_path: Path):
    path = tmp_path / "pulse.toml"
    path.write_text(
        (Path(__file__).parents[2] / "surveys/definitions/pulse.toml")
        .read_text(encoding="utf-8")
        .replace("version = 1", "version = 7")
        .replace('kind = "scale_0_10"', 'kind = "scale_1_9"'),
        encoding="utf-8",
    )
    with pytest.raises(SurveyDefinitionError) as info:
        load_survey(path)
    assert "pulse.toml: questions[15].kind: unknown kind 'scale_1_9'" in str(info.value)


def test_load_survey_invalid_toml(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text("id = \n", encoding="utf-8")
    with pytest.raises(SurveyDefinitionError, match=r"broken\.toml: not valid TOML"):
        load_survey(path)


def mutate(change) -> dict:
    data = copy.deepcopy(minimal())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("version"), "mini.toml: version: missing"),
        (lambda d: d.update(version="2"), "mini.toml: version: must be a whole number"),
        (lambda d: d.update(colour="red"), "mini.toml: colour: unknown key"),
        (lambda d: d.update(id="Mini"), "mini.toml: id: must be an id"),
        (lambda d: d["title"].pop("es"), "mini.toml: title.es: missing or empty text"),
        (lambda d: d["intro"].update(fr="Texte"), "mini.toml: intro.fr: language not listed"),
        (lambda d: d["questions"][0].update(kind="scale_1_9"),
         "mini.toml: questions[0].kind: unknown kind 'scale_1_9'"),
        (lambda d: d["questions"][2].update(id="t1"),
         "mini.toml: questions[2].id: duplicate question id 't1'"),
        (lambda d: d["questions"][2].update(id="2nd"), "mini.toml: questions[2].id: must be an id"),
        (lambda d: d["questions"][0].update(dimension="pride"),
         "mini.toml: questions[0].dimension: undeclared dimension 'pride'"),
        (lambda d: d["questions"][0].update(kind="scale_0_10"),
         "mini.toml: questions[0].dimension: dimension items must be scale_1_5"),
        (lambda d: d["questions"][2].update(reversed=True),
         "mini.toml: questions[2].reversed: only scale_1_5"),
        (lambda d: d["questions"][0].update(choices=[]),
         "mini.toml: questions[0].choices: only choice questions"),
        (lambda d: d["questions"][1].pop("choices"), "mini.toml: questions[1].choices: missing"),
        (lambda d: d["questions"][1]["choices"][1].update(value="a"),
         "mini.toml: questions[1].choices[1].value: duplicate choice value 'a'"),
        (lambda d: d["questions"][0].update(max_length=10),
         "mini.toml: questions[0].max_length: only text questions"),
        (lambda d: d["questions"][2].update(max_length=0), "mini.toml: questions[2].max_length: must be"),
        (lambda d: d["questions"][2].update(low_labels={"en": "a", "es": "b"}),
         "mini.toml: questions[2].low_labels: only scale questions"),
        (lambda d: d["questions"][0].update(required="yes"),
         "mini.toml: questions[0].required: must be true or false"),
        (lambda d: d["questions"][0].update(requried=False), "mini.toml: questions[0].requried: unknown key"),
        (lambda d: d["questions"][0]["labels"].pop("es"), "mini.toml: questions[0].labels.es: missing"),
        (lambda d: d["dimensions"][0].update(weight=0), "mini.toml: dimensions[0].weight: must be a number > 0"),
        (lambda d: d["dimensions"][0].update(weight=True), "mini.toml: dimensions[0].weight: must be a number"),
        (lambda d: d["dimensions"].append({"id": "trust", "labels": {"en": "T", "es": "C"}}),
         "mini.toml: dimensions[1].id: duplicate dimension id 'trust'"),
        (lambda d: d["dimensions"].append({"id": "pride", "labels": {"en": "P", "es": "O"}}),
         "mini.toml: dimensions[1]: dimension 'pride' has no questions"),
        (lambda d: d.update(languages=[]), "mini.toml: languages: must be a non-empty list"),
        (lambda d: d.update(questions=[]), "mini.toml: questions: must be a non-empty list"),
        (lambda d: d.update(skip_labels={"en": "Pass"}), "mini.toml: skip_labels.es: missing or empty text"),
    ],
)
def test_parse_errors_name_the_key(change, expected):
    assert expected in parse_error(mutate(change))


def test_parse_default_source():
    data = mutate(lambda d: d.pop("id"))
    with pytest.raises(SurveyDefinitionError, match=r"^<survey>: id: missing$"):
        parse_survey(data)


def test_skip_labels_make_every_index_item_skippable():
    pulse = builtin_survey("pulse")
    assert dict(pulse.skip_labels) == {"en": "Prefer not to say", "es": "Prefiero no responder"}
    assert all(q.skippable == (q.dimension is not None) for q in pulse.questions)
    assert not any(q.skippable for q in builtin_survey("customer").questions)
    assert not any(q.skippable for q in parse_survey(minimal()).questions)  # none without skip_labels
    described = pulse.as_dict()
    assert described["skip"] == {"value": "skip", "labels": dict(pulse.skip_labels)}
    assert [q["skippable"] for q in described["questions"]] == [q.skippable for q in pulse.questions]
