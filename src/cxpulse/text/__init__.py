"""Understanding comments: language, lemmas, redaction of personal data, themes and drivers.

The stage sits between ``collect`` and ``act`` (docs/architecture.md); it is empty until the
comment analysis lands, but the layer contract already names it.
"""
