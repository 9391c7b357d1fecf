"""Staff with prodimg's permissions only."""
from rest_framework.permissions import BasePermission


class StaffWithPerm(BasePermission):
    """Active staff holding the view's `required_perm` (a superuser holds them all)."""

    message = "You need staff status and the matching prodimg permission."

    def has_permission(self, request, view) -> bool:
        user = request.user
        perm = getattr(view, "required_perm", None)
        if callable(perm):
            perm = perm(request)
        return bool(user and user.is_authenticated and user.is_active and user.is_staff and (perm is None or user.has_perm(perm)))
