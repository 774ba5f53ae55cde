"""Pages of the interoperability app (the unmatched-results inbox), mounted at /interop/."""

urlpatterns: list = []
