"""Django admin for keys: entries inline, validated by the same rules; the secret shown once.

Keys are revoked, never deleted: their audit events keep them (a protected foreign key).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers

from workspaces.models import Workspace

from . import services
from .admin_mixins import ReadOnlyAdminMixin, admin_actor, admin_scope
from .conf import conf
from .forms import validate_rows
from .models import AllowlistEntry, ApiKey, AuditEvent
from .networks import find_overlaps, normalize_cidr, validate_label
from .policy_rules import allowlist_errors, expiry_errors
from .ratelimit_rules import clean_monthly_quota, clean_rate_limit, parse_rate_limit_text

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _EntryCount(TypedDict):
        _entries: int


# The new secret waits here between the add form's redirect and the page that shows it once.
NEW_SECRET_SESSION_KEY = "keyfence_admin_new_secret"
OVERLAP_ADVICE = "That is allowed, but the wider entry already covers it."
# Where save_model leaves a new secret for response_add, on the request that created the key.
_NEW_SECRET_ATTRIBUTE = "_keyfence_new_key"


def _set_new_secret(request: HttpRequest, secret: str) -> None:
    setattr(request, _NEW_SECRET_ATTRIBUTE, secret)


def _new_secret(request: HttpRequest) -> str | None:
    secret: str | None = getattr(request, _NEW_SECRET_ATTRIBUTE, None)
    return secret


class EntryAdminForm(forms.ModelForm):
    class Meta:
        model = AllowlistEntry
        fields = ["cidr", "label"]
        # The inline table's column headings are not labels: name each input for assistive technology.
        widgets = {
            "cidr": forms.TextInput(attrs={"aria-label": "IP address or CIDR"}),
            "label": forms.TextInput(attrs={"aria-label": "Label"}),
        }

    def clean_cidr(self) -> str:
        return normalize_cidr(self.cleaned_data.get("cidr"))

    def clean_label(self) -> str:
        return validate_label(self.cleaned_data.get("label"))


class EntryFormSet(forms.BaseInlineFormSet):
    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["aria-label"] = "Delete this entry"

    def clean(self) -> None:
        if any(f.errors for f in self.forms):
            return
        rows = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        # The list rule runs before the formset's own uniqueness check, so that a duplicate
        # gets the same DUPLICATE_ENTRY message here as everywhere else.
        self.validated_entries, errors = validate_rows(rows)
        if errors:
            raise ValidationError(errors)
        if any(f.errors for f in rows):
            raise ValidationError("Correct the allowlist entries below.")
        if self.instance.workspace_id is not None:
            # The workspace's policies, shown here rather than refused by the service after saving began.
            policy = services.policy_for(self.instance.workspace_id)
            refused = allowlist_errors(policy, len(self.validated_entries), "entries")
            if refused:
                raise ValidationError([error for errors in refused.values() for error in errors])
        super().clean()


class AllowlistEntryInline(admin.TabularInline):
    model = AllowlistEntry
    form = EntryAdminForm
    formset = EntryFormSet
    extra = 1
    fields = ["cidr", "label", "last_matched_at"]
    readonly_fields = ["last_matched_at"]

    def get_max_num(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return conf.MAX_ALLOWLIST_ENTRIES


class ApiKeyAdminForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    rate_limit = forms.CharField(
        label="Rate limit",
        required=False,
        help_text="N/second, N/minute or N/hour, such as 100/minute. Empty: none (a new key gets the "
        "workspace's default rate limit; write none for no limit).",
    )
    monthly_quota = forms.IntegerField(
        label="Monthly quota", required=False, help_text="Requests per calendar month (UTC). Empty: no quota."
    )

    class Meta:
        model = ApiKey
        fields = [
            "workspace",
            "name",
            "description",
            "scopes",
            "allowlist_mode",
            "expires_at",
            "rate_limit",
            "monthly_quota",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["scopes"]).choices = [(name, name) for name in conf.all_scopes]
        rate = self.instance.rate_limit if self.instance.pk else None
        self.initial["rate_limit"] = f"{rate['requests']}/{rate['per']}" if rate else ""
        self.rate_limit_given = False
        # The admin's split date and time inputs sit under one label that points at neither.
        for widget, part in zip(
            getattr(self.fields["expires_at"].widget, "widgets", []), ("date", "time"), strict=False
        ):
            widget.attrs["aria-label"] = f"Expires at: {part}"

    def clean_rate_limit(self) -> dict[str, Any] | None:
        # The text is parsed here and judged by the one rule (INVALID_RATE_LIMIT), as in the API.
        text = self.cleaned_data.get("rate_limit") or ""
        self.rate_limit_given = bool(text.strip())
        return clean_rate_limit(parse_rate_limit_text(text))

    def clean_monthly_quota(self) -> int | None:
        return clean_monthly_quota(self.cleaned_data.get("monthly_quota"))

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or self.cleaned_data
        workspace_id = data["workspace"].pk if data.get("workspace") else self.instance.workspace_id
        if workspace_id is not None and (self.instance._state.adding or "expires_at" in self.changed_data):
            # The workspace's longest key lifetime (SPEC §14), beside the field rather than after saving began.
            for field, errors in expiry_errors(services.policy_for(workspace_id), data.get("expires_at")).items():
                self.add_error(field, errors)
        return data


def _key_fields(form: forms.ModelForm) -> dict[str, Any]:
    names = ["name", "description", "scopes", "allowlist_mode", "expires_at", "monthly_quota"]
    # Left empty on a new key, the rate limit is the workspace's default (SPEC §14).
    if not form.instance._state.adding or getattr(form, "rate_limit_given", False):
        names.append("rate_limit")
    return {name: form.cleaned_data.get(name) for name in names}


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyAdminForm
    inlines = [AllowlistEntryInline]
    list_display = [
        "name",
        "workspace",
        "created_by",
        "prefix",
        "allowlist_mode",
        "entry_count",
        "limits",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["allowlist_mode", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "created_by__username", "workspace__slug"]
    readonly_fields = [
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
    ]
    actions = ["revoke_keys"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        keys: QuerySet[ApiKey] = super().get_queryset(request)
        return admin_scope(request, keys).select_related("created_by", "workspace").annotate(_entries=Count("entries"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A key stays in the workspace it was created in.
        return [*self.readonly_fields, "workspace"] if obj is not None else list(self.readonly_fields)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "workspace":
            kwargs["queryset"] = admin_scope(request, Workspace.objects.all(), field="pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="entries", ordering="_entries")
    def entry_count(self, obj: WithAnnotations[ApiKey, _EntryCount]) -> int:
        return obj._entries

    @admin.display(description="limits")
    def limits(self, obj: ApiKey) -> str:
        rate = f"{obj.rate_limit['requests']:,}/{obj.rate_limit['per']}" if obj.rate_limit else ""
        quota = f"{obj.monthly_quota:,}/month" if obj.monthly_quota else ""
        return " · ".join(part for part in (rate, quota) if part) or "-"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Audit events protect their key; revoking is how a key is taken out of use.
        return False

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset)
        for key in keys:
            services.key_revoke(key=key, actor=admin_actor(request))
        self.message_user(
            request,
            f"Revoked {len(keys)} key(s). Requests that use them now fail with API_KEY_REVOKED.",
            messages.SUCCESS,
        )

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/created/",
                self.admin_site.admin_view(self.created_view),
                name="apikeys_apikey_created",
            ),
            path(
                "<path:object_id>/revoke/", self.admin_site.admin_view(self.revoke_view), name="apikeys_apikey_revoke"
            ),
        ]
        return own + super().get_urls()

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm, change: bool) -> None:
        # A new key is created in save_related, with its allowlist: the workspace's policies judge both.
        if change:
            services.key_update(key=obj, actor=admin_actor(request), **_key_fields(form))

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        if not change:
            entries = next((fs.validated_entries for fs in formsets if isinstance(fs, EntryFormSet)), [])
            key, full = services.key_create(
                workspace_id=form.cleaned_data["workspace"].pk,
                actor=admin_actor(request),
                allowlist=entries,
                **_key_fields(form),
            )
            form.instance.__dict__.update({k: v for k, v in key.__dict__.items() if not k.startswith("_")})
            form.instance._state.adding = False
            _set_new_secret(request, full)  # response_add hands it to the page that shows it once
        super().save_related(request, form, formsets, change)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if isinstance(formset, EntryFormSet):
            if change:  # a new key got its entries when it was created
                services.allowlist_replace(
                    key=form.instance, actor=admin_actor(request), entries=formset.validated_entries
                )
            for warning in find_overlaps(entry.cidr for entry in formset.validated_entries):
                messages.warning(request, f"{warning['message']} {OVERLAP_ADVICE}")
            # The audit trail records the change; the admin's own history message stays short.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        else:
            super().save_formset(request, form, formset, change)

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None) -> HttpResponse:
        full = _new_secret(request)
        if full is None:
            return super().response_add(request, obj, post_url_continue)
        # Post/redirect/get: reloading the page that shows the secret must not post the form again.
        request.session[NEW_SECRET_SESSION_KEY] = {"key_id": str(obj.pk), "secret": full}
        return HttpResponseRedirect(reverse("admin:apikeys_apikey_created", args=[obj.pk]))

    def created_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show a new key's secret once: the session gives it up on the first display."""
        key = self._get_key(request, object_id, self.has_view_or_change_permission)
        pending = request.session.get(NEW_SECRET_SESSION_KEY) or {}
        full = None
        if pending.get("key_id") == str(key.pk):
            full = request.session.pop(NEW_SECRET_SESSION_KEY)["secret"]
        context = {
            **self.admin_site.each_context(request),
            "key": key,
            "full_key": full,
            "opts": self.model._meta,
            "title": "API key created",
        }
        response = TemplateResponse(request, "admin/apikeys/key_created.html", context)
        add_never_cache_headers(response)
        return response

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Confirm, then revoke one key: what Delete would have meant, without losing its history."""
        key = self._get_key(request, object_id, self.has_change_permission)
        change_url = reverse("admin:apikeys_apikey_change", args=[key.pk])
        if request.method == "POST":
            services.key_revoke(key=key, actor=admin_actor(request))
            self.message_user(
                request,
                f"{key.name} was revoked. Requests that use it now fail with API_KEY_REVOKED.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "key": key,
            "opts": self.model._meta,
            "title": f"Revoke {key.name}",
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/apikeys/key_revoke.html", context)

    def _get_key(self, request: HttpRequest, object_id: str, allowed: Callable[[HttpRequest, ApiKey], bool]) -> ApiKey:
        key: ApiKey | None = self.get_object(request, object_id)
        if key is None:
            raise Http404("No such API key.")
        if not allowed(request, key):
            raise PermissionDenied
        return key


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "workspace", "api_key", "action", "actor_user", "actor_key", "client_ip"]
    list_filter = ["action"]
    search_fields = ["api_key__name", "api_key__prefix", "workspace__slug"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return admin_scope(request, super().get_queryset(request)).select_related(
            "workspace", "api_key", "actor_user", "actor_key"
        )
