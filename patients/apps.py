from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients"

    def ready(self) -> None:
        # A saved or deleted reference range drops the centre's cached ranges.
        from django.db.models.signals import post_delete, post_save

        from patients.models import ReferenceRange
        from patients.ranges import reference_range_written

        post_save.connect(reference_range_written, sender=ReferenceRange,
                          dispatch_uid="reference-range-saved")
        post_delete.connect(reference_range_written, sender=ReferenceRange,
                            dispatch_uid="reference-range-deleted")
