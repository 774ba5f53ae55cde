from django.http import HttpRequest

from netcare.models import Role


def netcare(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    role = getattr(user, "role", "") if user is not None and user.is_authenticated else ""
    return {"user_role": role, "Role": Role}
