"""URLs of rows made once per page give what reverse gives."""

import uuid

from django.urls import reverse

from netcare.links import url_maker


def test_a_url_per_row_is_the_one_reverse_gives():
    one, two = uuid.uuid4(), uuid.uuid4()
    assert url_maker("prrt:cycle")(one) == reverse("prrt:cycle", args=[one])
    assert url_maker("patients:lab-in-error", arity=2)(one, two) == reverse(
        "patients:lab-in-error", args=[one, two])
