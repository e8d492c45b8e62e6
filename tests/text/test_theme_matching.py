"""The theme matcher on the real lemmatiser: every starter theme in every language, inflected
forms, the multi-word rules, accents, and no theme where a comment names none."""

from __future__ import annotations

import pytest

from cxpulse.text.comments import LANGUAGES
from cxpulse.text.lemmas import clauses, lemmatise
from cxpulse.text.taxonomy import Taxonomy, Theme, starter_taxonomy
from cxpulse.text.theme_matching import ThemeMatcher


@pytest.fixture(scope="module")
def matcher() -> ThemeMatcher:
    return ThemeMatcher(starter_taxonomy())


def themes_of(matcher: ThemeMatcher, text: str, language: str) -> set[str]:
    """The themes of a comment as the pipeline finds them: clause by clause."""
    found: set[str] = set()
    for clause in clauses(text, language):
        found.update(key for key, _ in matcher.match(lemmatise(clause, language), language))
    return found


# One sentence per starter theme and language, written for these tests the way customers
# write (not taken from any data set).
THEME_SENTENCES: dict[str, dict[str, str]] = {
    "delivery": {
        "en": "My parcel arrived two days after I ordered it.",
        "sv": "Paketet kom fram redan dagen efter beställningen.",
        "nl": "Het pakket werd netjes bij de buren bezorgd.",
        "mk": "Пратката пристигна за два дена.",
        "de": "Das Paket wurde gestern zugestellt.",
        "fr": "Le colis est arrivé en parfait état.",
        "es": "El paquete llegó en perfecto estado.",
        "pt": "A entrega foi feita em dois dias.",
    },
    "delivery-delay": {
        "en": "My order was two weeks late.",
        "sv": "Leveransen blev försenad med en vecka.",
        "nl": "Mijn bestelling kwam een week te laat.",
        "mk": "Испораката доцнеше цела недела.",
        "de": "Die Lieferung kam mit einer Woche Verspätung.",
        "fr": "La commande est arrivée avec une semaine de retard.",
        "es": "El pedido llegó con una semana de retraso.",
        "pt": "O pedido chegou com duas semanas de atraso.",
    },
    "waiting-time": {
        "en": "I was on hold for forty minutes before anyone answered.",
        "sv": "Vi fick vänta över en timme i telefonkön.",
        "nl": "De wachttijd aan de telefoon was meer dan een uur.",
        "mk": "Чекав долго во редица пред шалтерот.",
        "de": "Die Wartezeit an der Kasse war viel zu lang.",
        "fr": "Le temps d'attente au guichet était interminable.",
        "es": "El tiempo de espera en la tienda fue de una hora.",
        "pt": "Fiquei uma hora na fila para ser atendido.",
    },
    "price": {
        "en": "Far too expensive for what you get.",
        "sv": "Priset var alldeles för högt.",
        "nl": "De prijs is veel te hoog.",
        "mk": "Цената е превисока за ваков производ.",
        "de": "Der Preis ist für diese Leistung zu hoch.",
        "fr": "Le prix est beaucoup trop élevé.",
        "es": "El precio es demasiado alto.",
        "pt": "O preço estava muito alto.",
    },
    "product-quality": {
        "en": "The fabric tore after the first wash.",
        "sv": "Kvaliteten på tyget är dålig.",
        "nl": "De stof is van slechte kwaliteit.",
        "mk": "Квалитетот на материјалот е лош.",
        "de": "Die Verarbeitung ist leider schlecht.",
        "fr": "Le tissu est de mauvaise qualité.",
        "es": "La tela es de mala calidad.",
        "pt": "O material é de péssima qualidade.",
    },
    "wrong-or-missing-items": {
        "en": "They sent the wrong size.",
        "sv": "Vi fick fel storlek på jackan.",
        "nl": "Er ontbrak een onderdeel in de doos.",
        "mk": "Во пакетот недостасуваше еден дел.",
        "de": "Im Karton fehlte ein Teil.",
        "fr": "Il manquait un article dans le colis.",
        "es": "Faltaba una pieza en la caja.",
        "pt": "Veio faltando uma peça na caixa.",
    },
    "staff-friendliness": {
        "en": "The staff at the counter were very friendly.",
        "sv": "Personalen var trevlig och hjälpsam.",
        "nl": "De medewerkers waren heel vriendelijk.",
        "mk": "Персоналот беше многу љубезен.",
        "de": "Die Mitarbeiterin war sehr freundlich.",
        "fr": "Le personnel était très aimable.",
        "es": "El personal fue muy amable.",
        "pt": "O atendente foi muito educado.",
    },
    "support-competence": {
        "en": "Customer service solved my problem in one call.",
        "sv": "Kundtjänst löste problemet direkt.",
        "nl": "De klantenservice had het probleem snel opgelost.",
        "mk": "Корисничката служба брзо го реши проблемот.",
        "de": "Der Kundenservice konnte mir nicht helfen.",
        "fr": "Le service client a résolu mon problème rapidement.",
        "es": "La atención al cliente no supo resolver nada.",
        "pt": "O SAC resolveu o problema na hora.",
    },
    "billing": {
        "en": "I was charged twice for the same order.",
        "sv": "Fakturan hade fel belopp.",
        "nl": "Het bedrag werd dubbel afgeschreven.",
        "mk": "Ми наплатија двапати за истата нарачка.",
        "de": "Der Betrag wurde doppelt abgebucht.",
        "fr": "J'ai été débité deux fois.",
        "es": "Me cobraron dos veces el mismo pedido.",
        "pt": "Fui cobrado duas vezes no cartão.",
    },
    "website-or-app": {
        "en": "The website kept crashing at checkout.",
        "sv": "Appen kraschar hela tiden.",
        "nl": "De website is onoverzichtelijk en traag.",
        "mk": "Апликацијата постојано паѓа.",
        "de": "Die App ist sehr umständlich.",
        "fr": "Le site est très difficile à utiliser.",
        "es": "La página web no carga bien en el móvil.",
        "pt": "O aplicativo trava toda hora.",
    },
    "communication": {
        "en": "Nobody replied to my emails for a week.",
        "sv": "Jag fick inget svar på mina mejl.",
        "nl": "Ik heb geen reactie gekregen op mijn mail.",
        "mk": "Никој не одговори на моите пораки.",
        "de": "Auf meine E-Mail kam keine Antwort.",
        "fr": "Je n'ai reçu aucune réponse à mes messages.",
        "es": "Nunca respondieron a mis mensajes.",
        "pt": "Mandei vários e-mails e ninguém respondeu.",
    },
    "returns-and-refunds": {
        "en": "I asked for a refund last week.",
        "sv": "Jag skickade tillbaka tröjan och fick pengarna tillbaka.",
        "nl": "Ik heb de jas teruggestuurd.",
        "mk": "Го вратив производот и ми ги вратија парите.",
        "de": "Ich habe die Schuhe zurückgeschickt.",
        "fr": "J'ai demandé un remboursement.",
        "es": "Pedí la devolución del dinero.",
        "pt": "Pedi a devolução e o reembolso.",
    },
    "installation-and-faults": {
        "en": "The router stopped working after two days.",
        "sv": "Routern slutade fungera efter en vecka.",
        "nl": "De wasmachine werkt niet meer sinds gisteren.",
        "mk": "Интернетот не работи од вчера.",
        "de": "Der Techniker kam nicht zur Installation.",
        "fr": "La machine ne fonctionne plus depuis hier.",
        "es": "La lavadora dejó de funcionar al mes.",
        "pt": "A instalação foi difícil.",
    },
}

CASES = [
    (theme, language, sentence)
    for theme, by_language in THEME_SENTENCES.items()
    for language, sentence in by_language.items()
]


def test_the_sentences_cover_every_starter_theme_in_every_language() -> None:
    assert set(THEME_SENTENCES) == set(starter_taxonomy().keys)
    assert all(set(by_language) == set(LANGUAGES) for by_language in THEME_SENTENCES.values())


@pytest.mark.parametrize(("theme", "language", "sentence"), CASES)
def test_each_starter_theme_is_found_in_each_language(
    matcher: ThemeMatcher, theme: str, language: str, sentence: str
) -> None:
    assert theme in themes_of(matcher, sentence, language)


INFLECTED = [
    ("en", "The deliveries were late again."),
    ("en", "Both parcels were delayed."),
    ("sv", "Leveranserna var sena."),
    ("nl", "De leveringen kwamen te laat."),
    ("mk", "Испораките доцнеа."),
    ("de", "Die Lieferungen kamen zu spät."),
    ("fr", "Les livraisons sont toujours en retard."),
    ("es", "Los pedidos llegaron tarde."),
    ("pt", "Entregas atrasadas."),
    ("pt", "As entregas atrasaram."),
]


@pytest.mark.parametrize(("language", "sentence"), INFLECTED)
def test_inflected_forms_match_and_a_delay_is_also_a_delivery(
    matcher: ThemeMatcher, language: str, sentence: str
) -> None:
    assert {"delivery-delay", "delivery"} <= themes_of(matcher, sentence, language)


NEUTRAL = [
    ("en", "I bought this for my daughter's birthday."),
    ("en", "We live in a small town near the sea."),
    ("en", "I will write more later."),
    ("en", "What kind of bird is that?"),
    ("en", "We will definitely return next summer."),
    ("sv", "Jag köpte den till min dotters födelsedag."),
    ("sv", "Sen gick vi hem och åt middag."),
    ("sv", "Jag fattar inte varför hon sa så."),
    ("nl", "Ik heb dit voor de verjaardag van mijn dochter gekocht."),
    ("nl", "Ik probeer het je te laten zien."),
    ("mk", "Го купив ова за роденденот на мојата ќерка."),
    ("mk", "Живееме во мал град покрај морето."),
    ("de", "Ich habe es zum Geburtstag meiner Tochter gekauft."),
    ("de", "Wir wohnen in einer kleinen Stadt am Meer."),
    ("fr", "Je l'ai acheté pour l'anniversaire de ma fille."),
    ("fr", "Nous habitons dans une petite ville au bord de la mer."),
    ("es", "Lo compré para el cumpleaños de mi hija."),
    ("es", "Buenas tardes a todos."),
    ("pt", "Comprei para o aniversário da minha filha."),
    ("pt", "Ainda não usei, mas minha filha adorou."),
    ("pt", "Era o que eu estava esperando."),
    ("pt", "A vendedora disse que funciona bem."),
]


@pytest.mark.parametrize(("language", "sentence"), NEUTRAL)
def test_no_theme_in_sentences_that_name_none(
    matcher: ThemeMatcher, language: str, sentence: str
) -> None:
    assert themes_of(matcher, sentence, language) == set()


def test_a_broad_word_alone_is_no_theme_but_inside_its_phrase_it_is(
    matcher: ThemeMatcher,
) -> None:
    # pt "falta" is "lack" as often as "missing"; es "tarde" is also "afternoon".
    assert themes_of(matcher, "Falta de tempo para escrever.", "pt") == set()
    assert "wrong-or-missing-items" in themes_of(matcher, "Faltou um item no pedido.", "pt")
    assert "delivery-delay" in themes_of(matcher, "El paquete llegó tarde.", "es")


def test_accents_are_optional_where_people_often_leave_them_out(matcher: ThemeMatcher) -> None:
    assert "delivery" in themes_of(matcher, "nao recebi o produto", "pt")
    assert "delivery-delay" in themes_of(matcher, "ate agora nao chegou", "pt")
    assert "price" in themes_of(matcher, "otimo preco", "pt")
    assert "delivery" in themes_of(matcher, "entrega rapida", "es")
    # ... but an accent-free spelling that is another word does not join the phrase:
    # "funcionaria" is a form of "funcionar", not the employee "funcionária".
    assert "staff-friendliness" not in themes_of(matcher, "O aparelho não funciona.", "pt")


def test_each_theme_is_reported_once_per_clause_with_the_phrase_that_matched(
    matcher: ThemeMatcher,
) -> None:
    found = matcher.match_text("late delivery, delayed again and still late", "en")
    keys = [key for key, _ in found]
    assert sorted(keys) == ["delivery", "delivery-delay"]
    assert dict(found)["delivery-delay"] == "late delivery"


def test_a_contrast_makes_two_clauses_with_their_own_themes(matcher: ThemeMatcher) -> None:
    first, second = clauses("Fast delivery but rude staff", "en")
    assert [key for key, _ in matcher.match(lemmatise(first, "en"), "en")] == ["delivery"]
    assert [key for key, _ in matcher.match(lemmatise(second, "en"), "en")] == [
        "staff-friendliness"
    ]


def _one_theme(phrases: list[str], language: str = "en") -> ThemeMatcher:
    return ThemeMatcher(Taxonomy((Theme("x", "X", {language: tuple(phrases)}),)))


def test_multi_word_phrases_allow_at_most_one_word_between_their_words() -> None:
    matcher = _one_theme(["late delivery"])
    assert matcher.match_text("late delivery", "en") == [("x", "late delivery")]
    assert matcher.match_text("a late express delivery", "en") == [("x", "late delivery")]
    assert matcher.match_text("late and very slow delivery", "en") == []
    assert matcher.match_text("delivery was late", "en") == []  # order counts


def test_each_gap_of_a_longer_phrase_may_hold_one_word() -> None:
    matcher = _one_theme(["not received order"])
    assert matcher.match_text("not yet received my order", "en") == [("x", "not received order")]
    assert matcher.match_text("not yet received my last order", "en") == []


def test_matching_backtracks_to_a_later_occurrence() -> None:
    matcher = _one_theme(["not received"])
    assert matcher.match_text("not not received", "en") == [("x", "not received")]
    assert matcher.match_text("no, it was not yet received", "en") == [("x", "not received")]


def test_a_one_word_phrase_matches_its_lemma_anywhere() -> None:
    matcher = _one_theme(["refund"])
    assert matcher.match_text("Refunds take a week", "en") == [("x", "refund")]
    assert matcher.match_text("they refunded me", "en") == [("x", "refund")]
    assert matcher.match_text("nothing to say", "en") == []


def test_phrases_of_another_language_do_not_match() -> None:
    matcher = _one_theme(["leverans"], language="sv")
    assert matcher.match_text("leverans", "sv") == [("x", "leverans")]
    assert matcher.match_text("leverans", "nl") == []
    assert matcher.match(("leverans",), "xx") == []
    assert matcher.match((), "sv") == []


def test_a_phrase_without_words_is_ignored() -> None:
    matcher = _one_theme(["...", "42", "refund"])
    assert matcher.phrase_lemmas("...", "en") == []
    assert matcher.match_text("refund", "en") == [("x", "refund")]


def test_implied_themes_follow_chains() -> None:
    taxonomy = Taxonomy(
        (
            Theme("a", "A", {"en": ("alpha",)}, implies=("b",)),
            Theme("b", "B", {"en": ("beta",)}, implies=("c",)),
            Theme("c", "C", {"en": ("gamma",)}),
        )
    )
    matcher = ThemeMatcher(taxonomy)
    assert matcher.match_text("alpha", "en") == [("a", "alpha"), ("b", "alpha"), ("c", "alpha")]
    # A theme found on its own keeps its own phrase.
    assert matcher.match_text("beta then alpha", "en") == [
        ("b", "beta"),
        ("c", "beta"),
        ("a", "alpha"),
    ]


def test_the_matcher_carries_the_taxonomy_version() -> None:
    taxonomy = starter_taxonomy()
    assert ThemeMatcher(taxonomy).version == taxonomy.version


def test_every_starter_phrase_has_words(matcher: ThemeMatcher) -> None:
    for theme in starter_taxonomy().themes:
        for language, phrases in theme.phrases.items():
            for phrase in phrases:
                assert matcher.phrase_lemmas(phrase, language), (theme.key, language, phrase)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("My order took 9 days to arrive, far longer than promised.", "en"),
        ("Det tog 9 dagar innan beställningen kom, mycket längre än utlovat.", "sv"),
        ("Het duurde 9 dagen voordat mijn bestelling er was.", "nl"),
        ("Испораката двапати беше одложена без никакво објаснување.", "mk"),
    ],
)
def test_a_delivery_that_took_days_is_a_delay(text: str, language: str) -> None:
    matcher = ThemeMatcher(starter_taxonomy())
    assert "delivery-delay" in [key for key, _ in matcher.match_text(text, language)]
