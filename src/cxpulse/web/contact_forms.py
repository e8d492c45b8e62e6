"""The contact form of the pages (``/app/contacts/new``, ``/app/contacts/{id}/edit``): its
fields read from a posted form, and the attributes as lines of ``name = value``.

The rules are ``collect.contact_edits``'s (the API's); this module only turns the form's
text into the values those rules take, and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import FormData

from cxpulse.store.errors import Invalid

__all__ = ["FIELDS", "ContactForm", "attributes_text", "read_form"]

FIELDS = ("name", "email", "phone", "external_id", "locale", "attributes")
MAX_FIELD_LENGTH = 20_000
"""Longer text is cut before any rule runs; the rules then say what is too long."""
MAX_ATTRIBUTE_LINES = 200


@dataclass(frozen=True)
class ContactForm:
    typed: dict[str, str]
    """Each field as typed, to show again when the form is refused."""

    def value(self, name: str) -> str | None:
        return self.typed.get(name) or None

    def attributes(self) -> dict[str, str]:
        """``name = value`` lines as a mapping; ``Invalid`` on ``attributes`` naming the
        first line that is not one."""
        found: dict[str, str] = {}
        lines = self.typed.get("attributes", "").splitlines()
        if len(lines) > MAX_ATTRIBUTE_LINES:
            raise Invalid("attributes", f"at most {MAX_ATTRIBUTE_LINES} lines")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            name, equals, value = line.partition("=")
            if not equals or not name.strip():
                raise Invalid(
                    "attributes", f"line {number}: write name = value, such as plan = pro"
                )
            if name.strip() in found:
                raise Invalid("attributes", f"line {number}: {name.strip()!r} is given twice")
            found[name.strip()] = value.strip()
        # A name with an empty value removes the attribute, as null does in the API.
        return {name: value for name, value in found.items() if value}


def read_form(form: FormData) -> ContactForm:
    typed: dict[str, str] = {}
    for name in FIELDS:
        value = form.get(name)
        typed[name] = value[:MAX_FIELD_LENGTH] if isinstance(value, str) else ""
    return ContactForm(typed)


def attributes_text(attributes: Mapping[str, object]) -> str:
    return "\n".join(f"{name} = {value}" for name, value in sorted(attributes.items()))
