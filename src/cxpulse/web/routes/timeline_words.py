"""The words of a customer's timeline (``store.customer_timeline``): one entry per kind, as a
case's page and a contact's page show them.

The two pages differ only in the verb for an invitation or a reminder going out: "emailed"
on a case's page, "sent" on a contact's page (invitations may also go by text message).
"""

from __future__ import annotations

__all__ = ["timeline_words"]

_WORDS = {
    "answer": "Answered",
    "invitation": "Invitation made",
    "invitation_sent": "Invitation sent",
    "reminder_sent": "Reminder sent",
    "invitation_opened": "Invitation opened",
    "case_opened": "Case opened",
    "case_closed": "Case closed",
    "case_note": "Note on a case",
    "case_state": "Case state changed",
    "case_assigned": "Case assigned",
    "case_priority": "Case priority changed",
    "case_email_out": "Email to the customer",
    "case_email_in": "Email from the customer",
    "case_resurvey": "Re-survey",
}


def timeline_words(sent: str = "sent") -> dict[str, str]:
    """Kind -> words, an invitation or reminder going out said as ``Invitation <sent>``."""
    return {
        **_WORDS,
        "invitation_sent": f"Invitation {sent}",
        "reminder_sent": f"Reminder {sent}",
    }
