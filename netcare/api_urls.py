"""REST API v1 routes (objects addressed by UUID)."""

urlpatterns: list = []
