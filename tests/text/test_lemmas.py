"""Tokens, lemmas, stopwords and clauses per language."""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import simplemma
from simplemma.strategies import DefaultStrategy
from simplemma.strategies.dictionaries import DefaultDictionaryFactory, TrieDictionaryFactory

from cxpulse.text.comments import LANGUAGES
from cxpulse.text.lemmas import (
    ABANDONED_AFTER_SECONDS,
    NEGATIONS,
    TrieDictionaries,
    clauses,
    content_lemmas,
    is_stopword,
    lemmatise,
    tokens,
    trie_directory,
    trie_lemmatizer,
)


def test_tokens_keep_letters_of_every_script_and_drop_the_rest() -> None:
    assert tokens("Não recebi o pedido #4821 (R$ 19,99)!", "pt") == [
        "não",
        "recebi",
        "o",
        "pedido",
        "r",
    ]
    assert tokens("Испораката доцнеше 3 дена", "mk") == ["испораката", "доцнеше", "дена"]
    assert tokens("Kundtjänst-ärende: öppet", "sv") == ["kundtjänst", "ärende", "öppet"]


def test_a_decomposed_accent_stays_inside_its_word() -> None:
    decomposed = "entrega ra\u0301pida"
    assert tokens(decomposed, "pt") == ["entrega", "rápida"]


def test_apostrophes_inside_words_and_clitics() -> None:
    assert lemmatise("I didn't get my order, it's not good. Can't log in!", "en") == (
        "i", "do", "not", "get", "my", "order", "it", "not", "good", "can", "not", "log", "in",
    )  # fmt: skip
    assert lemmatise("We\u2019re waiting", "en") == ("we", "be", "wait")
    assert lemmatise("L'article n'est pas arrivé", "fr") == (
        "le", "article", "ne", "être", "pas", "arriver",
    )  # fmt: skip
    # Outside English and French an apostrophe simply stays part of the word.
    assert tokens("zo'n pakket", "nl") == ["zo'n", "pakket"]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Deliveries arrived late", ("delivery", "arrive", "late")),
        ("sv", "Leveranserna kom aldrig", ("leverans", "komma", "aldrig")),
        ("nl", "Ik bestelde twee pakketten", ("ik", "bestellen", "twee", "pakket")),
        ("mk", "Испораката доцнеше", ("испорака", "доцни")),
        ("de", "Die Pakete kamen nicht", ("der", "paket", "kommen", "nicht")),
        ("fr", "Les commandes arrivent jamais", ("le", "commande", "arriver", "jamais")),
        ("es", "Los pedidos llegaron tarde", ("el", "pedido", "llegar", "tarde")),
        ("pt", "Os produtos não chegaram", ("o", "produto", "não", "chegar")),
    ],
)
def test_lemmas_in_each_language(language: str, text: str, expected: tuple[str, ...]) -> None:
    assert lemmatise(text, language) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_negations_survive_lemmatising_and_are_not_stopwords(language: str) -> None:
    for word in NEGATIONS[language]:
        assert lemmatise(word, language) == (word,)
        assert not is_stopword(word, language)


def test_a_language_outside_the_eight_gives_lowercase_tokens() -> None:
    assert lemmatise("Grazie Mille", "it") == ("grazie", "mille")
    assert content_lemmas("Grazie Mille", "it") == ("grazie", "mille")
    assert not is_stopword("e", "it")


def test_stopwords_per_language_including_macedonian() -> None:
    assert is_stopword("the", "en")
    assert is_stopword("och", "sv")
    assert is_stopword("het", "nl")
    assert is_stopword("и", "mk")
    assert is_stopword("сум", "mk")
    assert is_stopword("der", "de")
    assert is_stopword("le", "fr")
    assert is_stopword("el", "es")
    assert is_stopword("o", "pt")
    # Lemmas of listed forms count too ("was" is listed, its lemma "be" as well).
    assert is_stopword("be", "en")


def test_customer_experience_words_are_content_even_where_the_lists_disagree() -> None:
    assert not is_stopword("order", "en")
    assert not is_stopword("problem", "en")
    assert not is_stopword("website", "en")
    assert not is_stopword("tempo", "pt")
    assert not is_stopword("retour", "fr")


def test_content_lemmas_drop_stopwords_and_numbers() -> None:
    assert content_lemmas("I ordered 3 items and never received my order", "en") == (
        "order", "item", "never", "receive", "order",
    )  # fmt: skip
    assert content_lemmas("O produto não chegou no prazo, 5 estrelas", "pt") == (
        "produto", "não", "chegar", "prazo", "estrela",
    )  # fmt: skip
    assert content_lemmas("Испораката доцнеше, но персоналот не беше љубезен", "mk") == (
        "испорака", "доцни", "персонал", "не", "љубезен",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Fast delivery but rude support", ["Fast delivery", "rude support"]),
        ("sv", "Snabb leverans men otrevlig personal", ["Snabb leverans", "otrevlig personal"]),
        ("nl", "Snelle levering maar onbeleefd", ["Snelle levering", "onbeleefd"]),
        ("mk", "Брза достава, но непријатен персонал", ["Брза достава", "непријатен персонал"]),
        ("mk", "Добра цена ама лош квалитет", ["Добра цена", "лош квалитет"]),
        ("de", "Nicht schnell, sondern langsam", ["Nicht schnell", "langsam"]),
        ("de", "Schnelle Lieferung, aber unfreundlich", ["Schnelle Lieferung", "unfreundlich"]),
        ("fr", "Livraison rapide mais service nul", ["Livraison rapide", "service nul"]),
        ("es", "Entrega rápida pero soporte grosero", ["Entrega rápida", "soporte grosero"]),
        ("pt", "Chegou rápido mas veio quebrado", ["Chegou rápido", "veio quebrado"]),
        ("pt", "Chegou rápido porém veio quebrado", ["Chegou rápido porém veio quebrado"]),
        (
            "pt",
            "O produto chegou rápido, porém veio quebrado",
            ["O produto chegou rápido", "veio quebrado"],
        ),
        (
            "es",
            "La entrega fue rápida, sin embargo llegó roto",
            ["La entrega fue rápida", "llegó roto"],
        ),
    ],
)
def test_clauses_split_at_contrast_words(language: str, text: str, expected: list[str]) -> None:
    assert clauses(text, language) == expected


def test_clauses_split_sentences_but_not_numbers() -> None:
    text = "Paid €19.99 for it. Arrived late!\nSupport was kind; refund took 2.5 weeks... ok?"
    assert clauses(text, "en") == [
        "Paid €19.99 for it",
        "Arrived late",
        "Support was kind",
        "refund took 2.5 weeks",
        "ok",
    ]


def test_a_contrast_adverb_inside_a_clause_does_not_split_it() -> None:
    assert clauses("The delivery, however, was late", "en") == ["The delivery, however, was late"]
    assert clauses("However, the support was rude", "en") == ["the support was rude"]
    assert clauses("The parcel arrived on time however the box was crushed", "en") == [
        "The parcel arrived on time",
        "the box was crushed",
    ]


def test_clauses_of_empty_or_letterless_text() -> None:
    assert clauses("", "en") == []
    assert clauses("!!! 12345 ...", "en") == []
    assert clauses("but", "en") == []
    assert clauses("Fine. But slow", "it") == ["Fine", "But slow"]


def test_contrast_words_need_word_boundaries() -> None:
    # "butter" and "Menu" contain "but" and "men" without being them.
    assert clauses("The butter was fresh", "en") == ["The butter was fresh"]
    assert clauses("Menyn var bra", "sv") == ["Menyn var bra"]


# The lemma dictionaries: simplemma's tries, cached on disk (lemmas.TrieDictionaries).


@pytest.mark.slow
def test_the_tries_give_the_lemmas_of_simplemmas_shipped_dictionaries() -> None:
    # About 250 entries of each language's dictionary, spread over it, each with inflected,
    # recased, misspelt, prefixed and hyphenated forms, so that the rules and decompositions
    # that run after a dictionary miss are compared too (16,000 tokens).
    trie = trie_lemmatizer(trie_directory())
    shipped_dictionaries = DefaultDictionaryFactory(cache_max_size=1)  # one language at a time
    shipped = simplemma.Lemmatizer(
        cache_max_size=0,
        lemmatization_strategy=DefaultStrategy(dictionary_factory=shipped_dictionaries),
    )
    for language in LANGUAGES:
        dictionary = shipped_dictionaries.get_dictionary(language)
        entries = list(itertools.islice(dictionary, 0, None, len(dictionary) // 250))
        words = set(tokens(" ".join(NEGATIONS[language]), language))
        for entry in entries:
            words.update((entry, entry.lower(), entry.capitalize(), entry.upper()))
            words.update((entry + "s", entry + "en", entry[:-1] or entry, "un" + entry))
            words.add(entry + "-" + entries[0])
        differ = {
            word: (trie.lemmatize(word, language), shipped.lemmatize(word, language))
            for word in sorted(words)
            if trie.lemmatize(word, language) != shipped.lemmatize(word, language)
        }
        assert differ == {}, language
        assert (trie_directory() / f"{language}.dic").is_file()  # really a trie


def test_simplemmas_hooks_for_writing_tries_still_exist() -> None:
    # TrieDictionaries overrides these two to write each trie under a name of its own and
    # rename it: if simplemma renamed them, tries would be written in place again, silently.
    assert callable(TrieDictionaryFactory._write_trie_to_disk)
    assert callable(TrieDictionaryFactory._get_dictionary_uncached)


_BUILD_FRENCH = """
import logging, sys
from pathlib import Path
from cxpulse.text.lemmas import trie_lemmatizer
logging.basicConfig(level=logging.WARNING)
print(trie_lemmatizer(Path(sys.argv[1])).lemmatize("commandes", "fr"))
"""


def test_two_processes_building_the_same_trie_at_once(tmp_path: Path) -> None:
    builders = [
        subprocess.Popen(
            [sys.executable, "-c", _BUILD_FRENCH, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for builder in builders:
        out, err = builder.communicate(timeout=120)
        assert (builder.returncode, out, err) == (0, "commande\n", "")
    assert [path.name for path in tmp_path.iterdir()] == ["fr.dic"]  # no temporary left
    assert trie_lemmatizer(tmp_path).lemmatize("commandes", "fr") == "commande"


_READ_ONLY_FOLDERS = """
import json, logging, sys
from pathlib import Path
from cxpulse.text.lemmas import TrieDictionaries, trie_lemmatizer

warnings = []
handler = logging.Handler()
handler.emit = lambda record: warnings.append(record.getMessage())
logging.getLogger("cxpulse.text.lemmas").addHandler(handler)
empty, built = Path(sys.argv[1]), Path(sys.argv[2])
lemmatizer = trie_lemmatizer(empty)
lemmas = [lemmatizer.lemmatize(word, language) for word, language in json.loads(sys.argv[3])]
warnings_then = len(warnings)
prebuilt = TrieDictionaries(built).get_dictionary("fr")
print(json.dumps({
    "lemmas": lemmas,
    "warnings": warnings[:warnings_then],
    "written": sorted(path.name for path in empty.iterdir()),
    "prebuilt": type(prebuilt).__name__,
    "warnings_after_prebuilt": len(warnings) - warnings_then,
}))
"""


def test_a_read_only_cache_folder_falls_back_to_the_shipped_dictionaries(tmp_path: Path) -> None:
    # Real read-only folders (mode 0555). Root writes there all the same, so as root the
    # child process runs without the capability that lets it (CAP_DAC_OVERRIDE).
    empty, built = tmp_path / "empty", tmp_path / "built"
    empty.mkdir()
    built.mkdir()
    shutil.copy(_prebuilt_french(tmp_path), built / "fr.dic")
    for folder in (empty, built):
        folder.chmod(0o555)
    words = [("commandes", "fr"), ("leveranserna", "sv"), ("Испораката", "mk")]
    try:
        child = subprocess.run(
            [sys.executable, "-c", _READ_ONLY_FOLDERS, str(empty), str(built), json.dumps(words)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=_without_root_overrides if os.geteuid() == 0 else None,
        )
    finally:
        for folder in (empty, built):
            folder.chmod(0o755)
    assert (child.returncode, child.stderr) == (0, "")
    result = json.loads(child.stdout)
    assert result["lemmas"] == ["commande", "leverans", "испорака"]
    # One warning for the three languages, naming the folder; nothing written.
    [warning] = result["warnings"]
    assert f"cannot be cached in {empty}" in warning
    assert result["written"] == []
    # Tries already there are read from a read-only folder, without a warning.
    assert (result["prebuilt"], result["warnings_after_prebuilt"]) == ("TrieWrapDict", 0)


def _without_root_overrides() -> None:
    """Drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so that the
    program about to be executed, though root, obeys the permission bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _prebuilt_french(tmp_path: Path) -> Path:
    folder = tmp_path / "prebuilt"
    trie_lemmatizer(folder).lemmatize("commandes", "fr")
    return folder / "fr.dic"


def test_a_half_written_trie_of_a_killed_process_is_removed_once_it_is_old(
    tmp_path: Path,
) -> None:
    old, fresh, other = tmp_path / ".fr-old.tmp", tmp_path / ".de-new.tmp", tmp_path / "notes"
    for path in (old, fresh, other):
        path.write_bytes(b"half a trie")
    long_ago = time.time() - ABANDONED_AFTER_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))

    # The first trie built probes the folder; the probe removes what was abandoned.
    TrieDictionaries(tmp_path).get_dictionary("fr")

    assert not old.exists()
    assert fresh.exists()  # may be another process's trie being written right now
    assert other.exists()  # not ours to remove
    assert (tmp_path / "fr.dic").is_file()
