"""{% net_contacts_of centre contacts as shown %}: a centre's NET contacts for
templates/network/_contacts.html, which the course letter and the instruction sheets of the
apps below include (a template tag, so they need not import this app)."""

from __future__ import annotations

from django import template

from network.contacts import contacts_of

register = template.Library()


@register.simple_tag
def net_contacts_of(centre, contacts=None):
    """`contacts` when the page already read them, else the centre's active contacts."""
    if contacts not in (None, ""):
        return contacts
    return contacts_of(centre or None)
