"""``python manage.py register_system --centre "Riverside NET Centre" --name "Riverside lab
engine" --scopes labs.write fhir.read``: register a system and print its OAuth2 client id and
secret (shown once; only its hash is kept)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from interop.auth import known_scopes
from interop.systems import system_register
from netcare.models import Centre


class Command(BaseCommand):
    help = "Register a system (OAuth2 client credentials) for a NET specialist centre."

    def add_arguments(self, parser):
        parser.add_argument("--centre", required=True, help="The centre's name.")
        parser.add_argument("--name", required=True, help="The system's name.")
        parser.add_argument("--scopes", nargs="+", required=True,
                            help=f"Among: {', '.join(known_scopes())}.")
        parser.add_argument("--mrn-authority", default="",
                            help="PID-3 assigning authority of the centre's MRNs, if any.")

    def handle(self, *args, **options):
        centre = Centre.objects.filter(name=options["centre"]).first()
        if centre is None:
            raise CommandError(f"No centre named '{options['centre']}'.")
        try:
            registered = system_register(actor=None, centre=centre, name=options["name"],
                                         scopes=options["scopes"],
                                         mrn_authority=options["mrn_authority"])
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}"
                                         for k, v in exc.message_dict.items())) from None
        self.stdout.write(f"Registered {registered.system.name} for {centre.name} "
                          f"(scopes: {registered.system.scopes}).")
        self.stdout.write(f"client_id:     {registered.client_id}")
        self.stdout.write(f"client_secret: {registered.client_secret}")
        self.stdout.write("Keep the secret now: NETcare keeps only its hash.")
