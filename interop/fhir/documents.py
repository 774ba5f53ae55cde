"""The PDFs behind the DocumentReferences (``Binary/<id>``), made when asked for, for a user who
may see the patient: the radiation-safety instructions of an infusion given, and a sent course
letter. Fetching one is an export, never "the instructions were given" (that is the team's
act)."""

from __future__ import annotations

from coordinators import letters
from interop.fhir import reads
from interop.fhir.errors import FhirError
from netcare.clock import centre_today
from prrt.instructions import instructions_for, instructions_pdf


def document_pdf(user, binary_id: str):
    """(pdf bytes, file name, the object the export is audited on, note), or None when there
    is no such document `user` may see."""
    try:
        found = reads.read(user, "DocumentReference", binary_id)
    except FhirError:
        return None
    source, obj = found.source, found.obj
    if source.prefix == "instructions-":
        cycle = obj.cycle
        pdf = instructions_pdf(instructions_for(cycle, today=centre_today(cycle.course.centre)))
        return (pdf, f"radiation-safety-cycle-{cycle.number}.pdf", cycle.course.patient,
                f"radiation-safety instructions PDF, cycle {cycle.number}")
    return (letters.letter_pdf(obj), f"course-letter-{str(obj.external_id)[:8]}.pdf", obj,
            "course letter PDF (sent)")
