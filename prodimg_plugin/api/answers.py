"""The API's refusals, one way each: too many images queued (429), bad job params (400), no usable model (503)."""
from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response


def rate_limited(exc) -> Response:
    """429 for a `generation.limits.RateLimited`, with Retry-After."""
    return Response({"detail": str(exc)}, status=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(exc.retry_after)})


def refused(exc) -> Response:
    """400 naming each bad job param of a `generation.params.InvalidParams` with what is allowed (the job's own
    check said so: nothing is queued)."""
    return Response({name: [message] for name, message in exc.errors.items()}, status=status.HTTP_400_BAD_REQUEST)


def unavailable(exc: Exception) -> Response:
    """503: the model the request needs is not trained, or its weights are damaged."""
    return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
