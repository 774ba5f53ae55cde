from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from netcare import access, audit


@login_required
def patient_detail(request: HttpRequest, external_id) -> HttpResponse:
    patient = access.get_patient_for(request.user, external_id)
    audit.record_view(actor=request.user, obj=patient, ip_address=audit.client_ip(request))
    return render(request, "patients/detail.html", {"patient": patient})
