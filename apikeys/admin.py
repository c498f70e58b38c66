"""Django admin for keys: entries inline, validated by the same rules; the secret shown once."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from . import services
from .client_ip import get_client_ip
from .conf import conf
from .forms import validate_rows
from .models import AllowlistEntry, ApiKey, AuditEvent
from .networks import normalize_cidr, validate_label


def _actor(request: HttpRequest) -> services.Actor:
    address = get_client_ip(request)
    return services.Actor(user_id=request.user.pk, ip=address.text if address else None)


class EntryAdminForm(forms.ModelForm):
    class Meta:
        model = AllowlistEntry
        fields = ["cidr", "label"]

    def clean_cidr(self) -> str:
        return normalize_cidr(self.cleaned_data.get("cidr"))

    def clean_label(self) -> str:
        return validate_label(self.cleaned_data.get("label"))


class EntryFormSet(forms.BaseInlineFormSet):
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

    class Meta:
        model = ApiKey
        fields = ["owner", "name", "description", "scopes", "allowlist_mode", "expires_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(name, name) for name in conf.all_scopes]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyAdminForm
    inlines = [AllowlistEntryInline]
    list_display = ["name", "owner", "prefix", "allowlist_mode", "entry_count", "last_used_at", "revoked_at"]
    list_filter = ["allowlist_mode", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "last_used_ip", "revoked_at"]
    actions = ["revoke_keys"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        return super().get_queryset(request).select_related("owner").annotate(_entries=Count("entries"))

    @admin.display(description="entries", ordering="_entries")
    def entry_count(self, obj: ApiKey) -> int:
        return obj._entries

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            services.key_revoke(key=key, actor=_actor(request))
        self.message_user(request, f"Revoked {queryset.count()} key(s).")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm, change: bool) -> None:
        data = {name: form.cleaned_data.get(name) for name in ("name", "description", "scopes", "allowlist_mode", "expires_at")}
        if change:
            services.key_update(key=obj, actor=_actor(request), **data)
            return
        key, full = services.key_create(owner_id=form.cleaned_data["owner"].pk, actor=_actor(request), **data)
        obj.__dict__.update({k: v for k, v in key.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False
        request._keyfence_new_key = full  # rendered once by response_add, never stored

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if isinstance(formset, EntryFormSet):
            services.allowlist_replace(key=form.instance, actor=_actor(request), entries=formset.validated_entries)
            # The audit trail records the change; the admin's own history message stays short.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        else:
            super().save_formset(request, form, formset, change)

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None) -> HttpResponse:
        full = getattr(request, "_keyfence_new_key", None)
        if full is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "key": obj, "full_key": full, "opts": self.model._meta,
                   "title": "API key created"}
        response = TemplateResponse(request, "admin/apikeys/key_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def delete_model(self, request: HttpRequest, obj: ApiKey) -> None:
        services.key_revoke(key=obj, actor=_actor(request))
        super().delete_model(request, obj)


class ReadOnlyAdminMixin:
    """Records that nobody edits: no add, change or delete, for staff either."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "api_key", "action", "actor_user", "actor_key", "client_ip"]
    list_filter = ["action"]
    search_fields = ["api_key__name", "api_key__prefix"]
