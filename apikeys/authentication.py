"""DRF authentication by API key: parse, look up (cached), verify, find the client IP, check
the allowlist, count the key's rate limit and quota. Each step fails with its own code (SPEC §3, §18)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, empty
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from . import keycache, ratelimit
from .client_ip import get_client_ip
from .context import KeyContext, key_context
from .errors import ApiError
from .models import AllowlistMode
from .records import KeyRecord
from .secrets import digest_matches, hash_key, parse_key, prefix_of

INVALID_API_KEY = "INVALID_API_KEY"
API_KEY_REVOKED = "API_KEY_REVOKED"
API_KEY_EXPIRED = "API_KEY_EXPIRED"
IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
MESSAGES = {
    INVALID_API_KEY: "The API key is not valid.",
    API_KEY_REVOKED: "This API key has been revoked.",
    API_KEY_EXPIRED: "This API key has expired.",
}
MAX_HEADER_LENGTH = 512


def read_presented_key(request: Any) -> str | None:
    """The key from ``Authorization: Bearer`` or ``X-API-Key``; ``None`` if neither is sent."""
    meta = request.META
    authorization: str | None = meta.get("HTTP_AUTHORIZATION")
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return credentials.strip()[:MAX_HEADER_LENGTH]
    api_key: str | None = meta.get("HTTP_X_API_KEY")
    if api_key is not None:
        return api_key.strip()[:MAX_HEADER_LENGTH]
    return None


class KeyAuthenticationFailed(exceptions.AuthenticationFailed):
    """A 401 with a stable code; the body is the same whatever made the key invalid."""

    def __init__(self, code: str) -> None:
        super().__init__(detail=MESSAGES[code], code=code)


def _verify(record: KeyRecord, digest: str) -> bool:
    if digest_matches(digest, record.secret_hash):
        return True
    return bool(
        record.previous_secret_hash
        and record.previous_expires_at
        and record.previous_expires_at > timezone.now()
        and digest_matches(digest, record.previous_secret_hash)
    )


def _load_owner(owner_pk: Any) -> Any:
    return get_user_model()._default_manager.get(pk=owner_pk)


class KeyOwner(SimpleLazyObject):
    """The key's creator as ``request.user``, read from the database only when a view needs it.

    The key's row already says who created it and that they are active, so truth,
    ``is_authenticated``, ``is_anonymous``, ``is_active``, ``pk``, ``id``, equality with a user
    and hashing answer without a query: DRF's ``IsAuthenticated`` and throttles read nothing
    more. Any other attribute (``username``, ``is_staff``, ``isinstance``) loads the user once,
    and from then on everything, these included, comes from the loaded user.
    """

    def __init__(self, owner_pk: Any) -> None:
        self.__dict__["_owner_pk"] = owner_pk
        super().__init__(partial(_load_owner, owner_pk))

    def _user(self) -> Any:
        if self._wrapped is empty:
            self._setup()
        return self._wrapped

    @property
    def is_authenticated(self) -> bool:
        return True if self._wrapped is empty else self._wrapped.is_authenticated

    @property
    def is_anonymous(self) -> bool:
        return False if self._wrapped is empty else self._wrapped.is_anonymous

    @property
    def is_active(self) -> bool:
        # Authentication refuses a key whose creator is inactive, so an unloaded one is active.
        return True if self._wrapped is empty else self._wrapped.is_active

    @property
    def pk(self) -> Any:
        return self._owner_pk if self._wrapped is empty else self._wrapped.pk

    @property
    def id(self) -> Any:
        if self._wrapped is empty and get_user_model()._meta.pk.attname == "id":
            return self._owner_pk
        return self._user().id

    def __bool__(self) -> bool:
        return True if self._wrapped is empty else bool(self._wrapped)

    def __eq__(self, other: object) -> bool:
        # As Model.__eq__: the same concrete model and primary key.
        if self._wrapped is not empty:
            return bool(self._wrapped == other)
        if isinstance(other, KeyOwner):
            return bool(self._owner_pk == other.pk)
        if not isinstance(other, Model):
            return NotImplemented
        concrete = get_user_model()._meta.concrete_model
        return other._meta.concrete_model is concrete and self._owner_pk == other.pk

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self._owner_pk if self._wrapped is empty else self._wrapped)


def _owner_pk_of(owner_id: Any) -> Any:
    # The row is read with a raw cursor; a non-integer primary key (a UUID) comes back as text.
    return owner_id if type(owner_id) is int else get_user_model()._meta.pk.to_python(owner_id)


def check_allowlist(record: KeyRecord, request: Any, context: KeyContext) -> None:
    """Decide on the client IP; raise ``IP_NOT_ALLOWED`` when an enforcing allowlist refuses it."""
    if record.allowlist.unrestricted:
        context.decision = "unrestricted"
        return
    address = get_client_ip(request)
    entry = record.allowlist.match(address)
    if entry is not None:
        context.decision = "allowed"
        context.matched_entry_id, context.matched_cidr = entry
        return
    if record.allowlist_mode == AllowlistMode.REPORT:
        context.decision = "would_block"
        return
    context.decision = "blocked"
    shown = address.text if address is not None else "an unknown address"
    raise ApiError(
        IP_NOT_ALLOWED,
        f"Requests from {shown} are not allowed for this API key.",
        403,
        client_ip=address.text if address is not None else None,
    )


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate with an API key and enforce its IP allowlist.

    Returns ``(user, record)``: ``request.user`` is the key's creator as a :class:`KeyOwner`,
    ``request.auth`` the key's :class:`KeyRecord`.
    """

    def authenticate(self, request: Any) -> tuple[Any, KeyRecord] | None:
        raw = read_presented_key(request)
        if raw is None:
            return None
        context = key_context(request)
        parsed = parse_key(raw)
        if parsed is None:
            context.key_prefix = prefix_of(raw) or ""
            raise KeyAuthenticationFailed(INVALID_API_KEY)
        context.key_prefix = parsed.prefix
        digest = hash_key(parsed.full)

        def check(record: KeyRecord | None) -> KeyRecord:
            if record is None:
                raise KeyAuthenticationFailed(INVALID_API_KEY)
            context.key_id, context.workspace_id = record.id, record.workspace_id
            if not _verify(record, digest) or not record.user_active:
                raise KeyAuthenticationFailed(INVALID_API_KEY)
            if record.revoked_at is not None:
                raise KeyAuthenticationFailed(API_KEY_REVOKED)
            # The clock is read only for keys that can expire.
            if record.expires_at is not None and record.expires_at <= timezone.now():
                raise KeyAuthenticationFailed(API_KEY_EXPIRED)
            check_allowlist(record, request, context)
            return record

        # The key's limits are counted after the allowlist (a blocked request consumes nothing) and
        # before scopes (SPEC §18). A limited key that this process knows is checked first and then
        # confirmed and counted in one round trip; any other key is read, checked, then counted.
        record = ratelimit.enforce_held(parsed.prefix, check, request)
        if record is None:
            record = check(keycache.get_record(parsed.prefix))
            ratelimit.enforce(record, request)
        context.authenticated = True
        # A key whose creator was deleted still acts for its workspace, as no user.
        user = KeyOwner(_owner_pk_of(record.user_id)) if record.user_id is not None else AnonymousUser()
        return user, record

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
