"""What a request carries about its key and its caller, for the pages, the API, the admin and
any app that logs requests (usagelogs reads it; apikeys never reads usagelogs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated

from workspaces.current import current_membership

from . import keycache
from .authentication import read_presented_key
from .client_ip import get_client_ip
from .context import KeyContext, key_context
from .records import KeyRecord
from .secrets import prefix_of
from .services import Actor

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a ``login_required`` view, whose user is known to be signed in.

    Only for annotations: Django builds plain ``HttpRequest`` objects.
    """

    user: User


def client_ip_text(request: Any) -> str | None:
    """The client address as text (``203.0.113.5``), or ``None`` when it is unknown."""
    address = get_client_ip(request)
    return address.text if address is not None else None


def workspace_id_of(request: Any) -> Any:
    """The workspace whose objects this request may see: the key's own, or the session's current one.

    API views call it behind a permission that requires one of them; without either it raises
    ``NotAuthenticated`` rather than scope a query to nobody.
    """
    if isinstance(getattr(request, "auth", None), KeyRecord):
        return request.auth.workspace_id
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise NotAuthenticated
    return current_membership(getattr(request, "_request", request)).workspace_id


def actor_of(request: Any) -> Actor:
    """Who is acting: the key that authenticated (for its workspace), else the signed-in user."""
    ip = client_ip_text(request)
    auth = getattr(request, "auth", None)
    if isinstance(auth, KeyRecord):
        return Actor(
            key_id=auth.id,
            key_scopes=auth.scopes,
            key_workspace_id=auth.workspace_id,
            key_user_id=auth.user_id,
            ip=ip,
        )
    return Actor(user_id=request.user.pk, ip=ip)


def identify_key(request: Any) -> KeyContext:
    """The request's key context, naming the presented key even when authentication never ran.

    An unknown URL or a refused method answers before any view authenticates; the log still
    names the key that was sent, and its workspace when the prefix is known.
    """
    context = key_context(request)
    if not context.key_prefix and not context.authenticated:
        context.key_prefix = prefix_of(read_presented_key(request) or "") or ""
    if context.key_id is None and context.key_prefix:
        record = keycache.get_record(context.key_prefix)
        if record is not None:
            context.key_id, context.workspace_id = record.id, record.workspace_id
    return context
