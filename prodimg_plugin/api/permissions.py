"""Staff with prodimg's permissions only."""
from rest_framework.permissions import BasePermission


class StaffWithPerm(BasePermission):
    """Active staff holding the view's `required_perm` (a superuser holds them all)."""

    message = "You need staff status and the matching prodimg permission."

    def has_permission(self, request, view) -> bool:
        user = request.user
        perm = getattr(view, "required_perm", None)
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        if perm is None:
            return True
        perms = (perm,) if isinstance(perm, str) else perm  # a tuple means: any one of these
        return any(user.has_perm(p) for p in perms)
